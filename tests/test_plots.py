"""Static plots: exact plotted values against hand-worked numbers and R's ranef output."""

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib as mpl  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.collections import LineCollection  # noqa: E402

from lmmcourse import plots  # noqa: E402

REF = Path(__file__).resolve().parent / "reference"


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _ranef(file, model):
    d = json.loads((REF / file).read_text())
    return pd.DataFrame(d["models"][model]["ranef"])


def _errorbar_segments(ax):
    (lc,) = [c for c in ax.collections if isinstance(c, LineCollection)]
    return np.array([s for s in lc.get_segments()])


# -------------------------------------------------------------------------------- palette
def test_palette_is_okabe_ito():
    # Okabe & Ito (2008) published RGB values: blue (0,114,178), orange (230,159,0),
    # bluish green (0,158,115), vermillion (213,94,0), reddish purple (204,121,167),
    # sky blue (86,180,233), yellow (240,228,66).
    rgb = [(0, 114, 178), (230, 159, 0), (0, 158, 115), (213, 94, 0), (204, 121, 167),
           (86, 180, 233), (240, 228, 66)]
    assert plots.palette() == ["#{:02X}{:02X}{:02X}".format(*c) for c in rgb]
    assert plots.palette(3) == plots.palette()[:3]
    assert len(plots.MARKERS) >= 5 and len(set(plots.MARKERS)) == len(plots.MARKERS)
    with pytest.raises(ValueError, match="marker shape"):
        plots.palette(8)


def test_use_style_sets_palette_cycle():
    with mpl.rc_context():
        settings = plots.use_style()
        cycle = mpl.rcParams["axes.prop_cycle"].by_key()["color"]
        assert cycle == plots.palette()
        assert settings["font.size"] == mpl.rcParams["font.size"] == 11


# ---------------------------------------------------------------------------- caterpillar
def test_caterpillar_dyestuff_matches_r_ranef():
    table = _ranef("dyestuff.json", "m0")  # R: ranef(m0, condVar = TRUE)
    ax = plots.caterpillar(table, units="g")
    order = table.sort_values("blup")
    assert [t.get_text() for t in ax.get_yticklabels()] == list(order["group"])
    (pts,) = [ln for ln in ax.get_lines() if ln.get_marker() == "o"]
    np.testing.assert_allclose(pts.get_xdata(), order["blup"], rtol=1e-12)
    seg = _errorbar_segments(ax)
    lo, hi = seg[:, 0, 0], seg[:, 1, 0]
    # F: BLUP -44.9952868264672, sd 19.5865700901945 -> -44.995 -/+ 1.96 * 19.587
    np.testing.assert_allclose(lo[0], -44.9952868264672 - 1.96 * 19.5865700901945)
    np.testing.assert_allclose(hi[0], -44.9952868264672 + 1.96 * 19.5865700901945)
    np.testing.assert_allclose(hi - lo, 2 * 1.96 * order["sd"].to_numpy())
    assert "(g)" in ax.get_xlabel()


def test_caterpillar_one_panel_per_effect():
    table = _ranef("sleepstudy.json", "m_slope")
    axes = plots.caterpillar(table)
    assert len(axes) == 2
    assert [a.get_title().split(":")[0] for a in axes] == ["(Intercept)", "Days"]
    days = table[table["effect"] == "Days"].sort_values("blup")
    (pts,) = [ln for ln in axes[1].get_lines() if ln.get_marker() == "o"]
    np.testing.assert_allclose(pts.get_xdata(), days["blup"])
    ax = plots.caterpillar(table, effect="Days")
    assert ax.get_title().startswith("Days")
    with pytest.raises(ValueError, match="choose one of"):
        plots.caterpillar(table, effect="age")
    with pytest.raises(ValueError, match="pass effect"):
        plots.caterpillar(table, ax=plt.subplots()[1])


def test_caterpillar_rejects_bad_table():
    with pytest.raises(ValueError, match="lacks column"):
        plots.caterpillar(pd.DataFrame({"group": ["a"], "blup": [0.0]}))


def test_caterpillar_from_fitted_result_matches_r():
    stats = pytest.importorskip("lmmcourse.stats")
    if not hasattr(stats, "blups"):
        pytest.skip("lmmcourse.stats.blups not exported yet")
    import statsmodels.formula.api as smf

    df = pd.read_csv(REF / "data" / "Dyestuff.csv")
    res = smf.mixedlm("Yield ~ 1", df, groups=df["Batch"]).fit(reml=True)
    ax = plots.caterpillar(res)
    ref = _ranef("dyestuff.json", "m0").sort_values("blup")
    (pts,) = [ln for ln in ax.get_lines() if ln.get_marker() == "o"]
    np.testing.assert_allclose(pts.get_xdata(), ref["blup"], rtol=1e-3, atol=1e-2)


# ---------------------------------------------------------------------------------- QQ
def test_qq_positions_and_line_match_r():
    ax = plots.qq([5, 1, 4, 2, 3], units="mmHg")
    pts = next(ln for ln in ax.get_lines() if ln.get_gid() == "qq")
    # R: qnorm(ppoints(5)) = -1.1797611 -0.4972006 0 0.4972006 1.1797611
    np.testing.assert_allclose(pts.get_xdata(),
                               [-1.1797611, -0.4972006, 0, 0.4972006, 1.1797611], atol=1e-7)
    np.testing.assert_array_equal(pts.get_ydata(), [1, 2, 3, 4, 5])
    # qqline: quartiles 2 and 4 at z = -/+0.6744898: slope 2/1.3489795 = 1.482602, through (0, 3)
    line = next(ln for ln in ax.get_lines() if ln.get_gid() == "qqline")
    x, y = line.get_xydata().T
    slope = (y[1] - y[0]) / (x[1] - x[0])
    np.testing.assert_allclose(slope, 1.482602, rtol=1e-6)
    np.testing.assert_allclose(y[0] - slope * x[0], 3.0, atol=1e-9)
    assert "mmHg" in ax.get_ylabel()


def test_qq_large_n_uses_half_offset():
    ax = plots.qq(np.arange(20.0))
    pts = next(ln for ln in ax.get_lines() if ln.get_gid() == "qq")
    # n > 10: p_1 = (1 - 0.5) / 20 = 0.025 -> qnorm = -1.959964
    np.testing.assert_allclose(pts.get_xdata()[0], -1.959964, atol=1e-6)
    with pytest.raises(ValueError, match="at least 2"):
        plots.qq([1.0, np.nan])


# ---------------------------------------------------------------------------- residuals
def test_residuals_vs_binned_means_by_hand():
    x = np.arange(10.0)
    ax = plots.residuals_vs(x, 2 * x, smoother="bins", bins=2, xlabel="age (years)",
                            ylabel="residual (mmHg)")
    sm = next(ln for ln in ax.get_lines() if ln.get_gid() == "smoother")
    # bins {0..4} and {5..9}: mean x 2 and 7, mean residual 4 and 14
    np.testing.assert_allclose(sm.get_xdata(), [2, 7])
    np.testing.assert_allclose(sm.get_ydata(), [4, 14])
    assert ax.get_xlabel() == "age (years)"


def test_residuals_vs_lowess_reproduces_a_line():
    x = np.arange(10.0)
    ax = plots.residuals_vs(x, 2 * x + 1)
    sm = next(ln for ln in ax.get_lines() if ln.get_gid() == "smoother")
    np.testing.assert_allclose(sm.get_ydata(), 2 * x + 1, atol=1e-8)
    with pytest.raises(ValueError, match="smoother"):
        plots.residuals_vs(x, x, smoother="spline")
    with pytest.raises(ValueError, match="same length"):
        plots.residuals_vs(x, x[:5])


# ---------------------------------------------------------------------------- shrinkage
def test_shrinkage_plot_arrows_and_sizes():
    raw = np.array([10.0, 0.0, -6.0])
    blups = np.array([4.0, -1.0, -3.0])
    m = np.array([4, 100, 10])
    ax = plots.shrinkage_plot(raw, blups, m, grand_mean=2.0, labels=["a", "b", "c"])
    arrows = [t for t in ax.texts if getattr(t, "arrow_patch", None) is not None]
    assert len(arrows) == 3
    starts = [a.xyann if hasattr(a, "xyann") else a.xytext for a in arrows]
    np.testing.assert_allclose([s[1] for s in starts], raw)
    np.testing.assert_allclose([a.xy[1] for a in arrows], 2.0 + blups)
    raw_pts = next(c for c in ax.collections if c.get_gid() == "raw")
    sizes = raw_pts.get_sizes()
    assert np.argmax(sizes) == 1 and np.argmin(sizes) == 0  # area grows with cluster size
    with pytest.raises(ValueError, match="one value per cluster"):
        plots.shrinkage_plot(raw, blups[:2], m)


# ------------------------------------------------------------------------------ profile
def test_profile_plot_cutoff_and_marks():
    lam = np.linspace(-1, 1, 41)
    prof = pd.DataFrame({"lambda": lam, "loglik": -10 * (lam - 0.3) ** 2})
    ax = plots.profile_plot(prof, best=0.3, ci=(-0.138, 0.738))
    cut = next(ln for ln in ax.get_lines() if ln.get_gid() == "cutoff")
    # chi2_1 0.95 quantile 3.841459 (table) / 2 = 1.9207294 below the maximum 0
    np.testing.assert_allclose(cut.get_ydata(), [-1.9207294] * 2, atol=1e-6)
    best = next(ln for ln in ax.get_lines() if ln.get_gid() == "best")
    np.testing.assert_allclose(best.get_xdata(), [0.3, 0.3])
    assert "0.30" in best.get_label()
    with pytest.raises(ValueError, match="lambda"):
        plots.profile_plot(pd.DataFrame({"lam": [0]}), 0, (0, 1))


# ---------------------------------------------------------------------------------- LRT
def test_null_lrt_histogram_curves_and_tails():
    rng = np.random.default_rng(1)
    lrt = np.where(rng.random(4000) < 0.5, 0.0, rng.chisquare(1, 4000))
    ax = plots.null_lrt_histogram(lrt, observed=3.841459, xmax=10)
    mix = next(ln for ln in ax.get_lines() if ln.get_gid() == "mixture")
    chi = next(ln for ln in ax.get_lines() if ln.get_gid() == "chi2")
    x = mix.get_xdata()
    # chi2_1 density exp(-x/2)/sqrt(2 pi x); the mixture has half of it for x > 0
    np.testing.assert_allclose(chi.get_ydata(), np.exp(-x / 2) / np.sqrt(2 * np.pi * x),
                               rtol=1e-10)
    np.testing.assert_allclose(mix.get_ydata(), 0.5 * chi.get_ydata())
    i = np.argmin(abs(x - 1.0))
    np.testing.assert_allclose(0.5 * np.exp(-x[i] / 2) / np.sqrt(2 * np.pi * x[i]),
                               mix.get_ydata()[i])
    obs = next(ln for ln in ax.get_lines() if ln.get_gid() == "observed")
    # P(chi2_1 >= 3.841459) = 0.05 (table); the mixture halves it
    assert "p = 0.05 (χ²₁), 0.025 (mixture)" in obs.get_label()
    bars = [p for p in ax.patches if p.get_gid() == "hist" or p.get_label() == "_nolegend_"]
    area = sum(p.get_width() * p.get_height() for p in bars)
    share_pos = np.mean(lrt > 0)
    n_beyond = np.mean(lrt > 10)
    np.testing.assert_allclose(area, share_pos - n_beyond, rtol=1e-9)
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any(f"share exactly 0: {1 - share_pos:.2f}" in t for t in labels)
