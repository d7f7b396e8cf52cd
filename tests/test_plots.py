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


# ------------------------------------------------------------------------ profile: smooth curve
def test_profile_curve_is_smooth_and_exact_for_a_quadratic():
    lam = np.linspace(-1, 1, 7)  # the 7-point grid of the lesson's Box-Cox profile
    prof = pd.DataFrame({"lambda": lam, "loglik": -10 * (lam - 0.3) ** 2})
    ax = plots.profile_plot(prof, best=0.3, ci=(-0.138, 0.738))
    curve = next(ln for ln in ax.get_lines() if ln.get_gid() == "profile")
    x, y = curve.get_data()
    assert len(x) >= 200  # drawn smoothly, not through 7 points
    np.testing.assert_allclose(y, -10 * (np.asarray(x) - 0.3) ** 2, atol=1e-9)  # exact parabola
    pts = next(ln for ln in ax.get_lines() if ln.get_gid() == "profile_points")
    np.testing.assert_allclose(pts.get_xdata(), lam)
    assert "[-0.14, 0.74]" in plots.alt_text(ax) and "0.30" in plots.alt_text(ax)


# --------------------------------------------------------------------------- clinic overview
def test_clinic_overview_means_and_t_intervals_by_hand():
    df = pd.DataFrame({"clinic_id": ["B", "B", "A", "A", "A"], "sbp": [10, 12, 1, 2, 3]})
    ax = plots.clinic_overview(df)
    # A: mean 2, sd 1, n 3, t(2, 0.975) = 4.302653 (table): 2 -/+ 4.302653 / sqrt(3) = 2.484138
    # B: mean 11, sd sqrt(2), n 2, t(1, 0.975) = 12.706205: 11 -/+ 12.706205
    assert [t.get_text() for t in ax.get_yticklabels()] == ["A (n = 3)", "B (n = 2)"]
    (means,) = [ln for ln in ax.get_lines() if ln.get_marker() == "D"]
    np.testing.assert_allclose(means.get_xdata(), [2, 11])
    seg = _errorbar_segments(ax)
    np.testing.assert_allclose(seg[:, 0, 0], [2 - 2.484138, 11 - 12.706205], atol=1e-5)
    np.testing.assert_allclose(seg[:, 1, 0], [2 + 2.484138, 11 + 12.706205], atol=1e-5)
    overall = next(ln for ln in ax.get_lines() if ln.get_gid() == "overall")
    np.testing.assert_allclose(overall.get_xdata(), [28 / 5] * 2)
    pts = next(ln for ln in ax.get_lines() if ln.get_gid() == "patients")
    np.testing.assert_allclose(np.sort(pts.get_xdata()), [1, 2, 3, 10, 12])
    alt = plots.alt_text(ax)
    assert "5 patients in 2 clusters" in alt and "2.0 mmHg (A" in alt and "11.0 mmHg (B" in alt
    with pytest.raises(ValueError, match="at least 2"):
        plots.clinic_overview(pd.DataFrame({"clinic_id": ["A", "B", "B"], "sbp": [1, 2, 3]}))
    with pytest.raises(ValueError, match="sbp"):
        plots.clinic_overview(pd.DataFrame({"clinic_id": ["A"]}))


def test_clinic_overview_grows_with_clusters():
    from lmmcourse.data import load_clinics

    ax = plots.clinic_overview(load_clinics())
    assert len(ax.get_yticklabels()) == 30
    assert ax.figure.get_figheight() >= 0.22 * 30


# --------------------------------------------------------------------------- cluster lines
class _FakeMixed:
    """Stands in for a MixedLMResults: fixed effects and BLUPs chosen by hand."""

    fe_params = pd.Series({"Intercept": 2.0, "x": 0.5})
    random_effects = {"a": pd.Series({"Group": 1.0, "x": 0.5}),
                      "b": pd.Series({"Group": -1.0, "x": -0.25})}


def test_cluster_lines_three_kinds_of_line():
    x = np.array([0.0, 1, 2, 0, 1, 2])
    df = pd.DataFrame({"x": x, "g": list("aaabbb"),
                       "y": np.r_[1 + 2 * x[:3], 3 - x[3:]]})  # a: 1 + 2x, b: 3 - x exactly
    a1, a2, a3 = plots.cluster_lines(df, "x", "y", "g", result=_FakeMixed())
    (pooled,) = [ln for ln in a1.get_lines() if ln.get_gid() == "pooled"]
    # pooled OLS by hand: x = 0,1,2,0,1,2 (mean 1), y = 1,3,5,3,2,1;
    # Sxy = sum (x - 1) y = -1 + 5 - 3 + 1 = 2, Sxx = 4 -> slope 0.5
    px, py = pooled.get_data()
    assert (py[1] - py[0]) / (px[1] - px[0]) == \
        pytest.approx(0.5)
    own = [ln for ln in a2.get_lines() if ln.get_gid() == "no_pooling"]
    slopes = sorted((ln.get_ydata()[1] - ln.get_ydata()[0]) / (ln.get_xdata()[1] - ln.get_xdata()[0])
                    for ln in own)
    np.testing.assert_allclose(slopes, [-1, 2])
    mixed = {tuple(np.round(ln.get_ydata(), 9)) for ln in a3.get_lines() if ln.get_gid() == "mixed"}
    # a: (2 + 1) + (0.5 + 0.5) x at x = 0, 2 -> 3, 5;  b: (2 - 1) + (0.5 - 0.25) x -> 1, 1.5
    assert mixed == {(3.0, 5.0), (1.0, 1.5)}
    (fixed,) = [ln for ln in a3.get_lines() if ln.get_gid() == "fixed"]
    np.testing.assert_allclose(fixed.get_ydata(), 2 + 0.5 * fixed.get_xdata())
    alt = plots.alt_text(a1.figure)
    assert "slope 0.50" in alt and "slopes from -1.00 to 2.00" in alt
    assert "slopes from 0.25 to 1.00" in alt  # mixed-model slopes 0.5 - 0.25 and 0.5 + 0.5
    with pytest.raises(ValueError, match="3 panels"):
        plots.cluster_lines(df, "x", "y", "g", result=_FakeMixed(), ax=[a1])


# ------------------------------------------------------------------------------ ML vs REML
def test_ml_reml_plot_means_and_bias_by_hand():
    sims = pd.DataFrame({"sigma2_u_ml": [1.0, 2.0, 3.0], "sigma2_u_reml": [2.0, 3.0, 4.0]})
    top, bottom = plots.ml_reml_plot(sims, true_value=3.0)
    assert top.get_title() == "ML: mean 2.0, bias -1.0 (-33% of the truth)"
    assert bottom.get_title() == "REML: mean 3.0, bias +0.0 (+0% of the truth)"
    for a, m in ((top, 2.0), (bottom, 3.0)):
        truth = next(ln for ln in a.get_lines() if ln.get_gid() == "truth")
        np.testing.assert_allclose(truth.get_xdata(), [3.0, 3.0])
        mean = next(ln for ln in a.get_lines() if ln.get_gid().startswith("mean_"))
        np.testing.assert_allclose(mean.get_xdata(), [m, m])
        assert sum(p.get_height() for p in a.patches) == 3
    assert "ML mean 2.0 (bias -1.0, -33%" in plots.alt_text(top.figure)
    with pytest.raises(ValueError, match="ml_reml_bias"):
        plots.ml_reml_plot(pd.DataFrame({"x": [1]}), 1.0)


def test_ml_reml_plot_takes_simulate_output():
    from lmmcourse import simulate

    sims = simulate.ml_reml_bias(6, 5, 4.0, 16.0, 200, seed=1, engine="profile")
    top, bottom = plots.ml_reml_plot(sims, 4.0)
    ml = float(sims["sigma2_u_ml"].mean())
    assert f"mean {ml:.1f}" in top.get_title()
    assert "σ²u" in bottom.get_xlabel()


# ---------------------------------------------------------------------------- influence
def test_cluster_influence_plot_reference_line_and_flags():
    d = [0.5, 0.05, 0.1, 0.02, 0.01, 0.3, 0.41, 0.0, 0.2, 0.03]
    infl = pd.DataFrame({"cooks_distance": d}, index=[f"k{i}" for i in range(10)])
    ax = plots.cluster_influence_plot(infl, cluster_label="clinic")
    thr = next(ln for ln in ax.get_lines() if ln.get_gid() == "threshold")
    np.testing.assert_allclose(thr.get_xdata(), [0.4, 0.4])  # 4 / 10 clusters
    above = next(ln for ln in ax.get_lines() if ln.get_gid() == "above")
    np.testing.assert_allclose(sorted(above.get_xdata()), [0.41, 0.5])
    assert above.get_marker() != next(ln for ln in ax.get_lines()
                                      if ln.get_gid() == "below").get_marker()
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels[-1] == "k0" and labels[-2] == "k6"  # largest at the top
    alt = plots.alt_text(ax)
    assert "2 above it: k0 (0.500), k6 (0.410)" in alt and "0.400" in alt
    ax = plots.cluster_influence_plot(infl, threshold=0.25)
    assert "3 above it" in plots.alt_text(ax)
    with pytest.raises(ValueError, match="cooks_distance"):
        plots.cluster_influence_plot(pd.DataFrame({"d": [1.0]}))
