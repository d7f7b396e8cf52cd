"""Widgets driven in code: slider values, button clicks, plotted data and texts.

Expected numbers are the lesson's hand-worked formulas: shrinkage 5/(5 + 20/100) = 0.9615,
5/(5 + 20/4) = 0.5; ICC 3/(3 + 12) = 200/(200 + 800) = 0.2.
"""

import base64
import io
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from PIL import Image  # noqa: E402

from lmmcourse import plots, widgets  # noqa: E402
from lmmcourse.data import load_classrooms  # noqa: E402
from lmmcourse.widgets import _story  # noqa: E402

REF = Path(__file__).resolve().parent / "reference"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def _png_pixels(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))


# =============================================================== variance explorer: pure parts
def test_variance_partition_lesson_numbers():
    p = widgets.variance_partition(200, 800)
    assert p["total"] == 1000 and p["icc"] == pytest.approx(0.2) and p["share_within"] == 0.8
    assert widgets.variance_partition(3, 12)["icc"] == pytest.approx(0.2)


def test_shrunken_cluster_means_formula():
    a, b = widgets.cluster_draws(6, seed=3)
    out = widgets.shrunken_cluster_means(5, 20, 4, (a, b))
    raw = np.sqrt(5) * a + np.sqrt(20 / 4) * b
    np.testing.assert_allclose(out["raw"], raw)
    assert out["grand_mean"] == pytest.approx(raw.mean())
    assert out["shrinkage"] == pytest.approx(0.5)
    np.testing.assert_allclose(out["estimate"], raw.mean() + 0.5 * (raw - raw.mean()))
    # no between-group variance: everything pulled to the grand mean
    flat = widgets.shrunken_cluster_means(0, 20, 4, (a, b))
    np.testing.assert_allclose(flat["estimate"], flat["grand_mean"])


def test_cluster_draws_are_seeded():
    np.testing.assert_array_equal(widgets.cluster_draws(8, 1)[0], widgets.cluster_draws(8, 1)[0])
    assert not np.array_equal(widgets.cluster_draws(8, 1)[0], widgets.cluster_draws(8, 2)[0])


@pytest.mark.parametrize("x, want", [(0.7, 0.8), (1.0, 1.0), (1.01, 1.5), (7, 8), (23, 30),
                                     (0, 1.0)])
def test_nice_ceil(x, want):
    assert widgets._nice_ceil(x) == pytest.approx(want)


# ============================================================ variance explorer: the widget
@pytest.fixture(scope="module")
def explorer():
    return widgets.variance_explorer(sigma2_u=5, sigma2_e=20, m=100)


def _set(w, **values):
    for k, v in values.items():
        w.sliders[k].value = v
        assert w.sliders[k].value == v, f"slider {k} cannot reach {v}"


def test_shrinkage_marker_and_readout_lesson_numbers(explorer):
    w = explorer
    _set(w, sigma2_u=5, sigma2_e=20, m=100)
    x, y = w.artists["marker"].get_data()
    assert list(x) == [100]
    assert y[0] == pytest.approx(5 / 5.2)  # 0.9615...
    assert w.readouts["shrinkage"].value == "Shrinkage factor at m = 100: 0.96"
    assert w.artists["text_r"].get_text() == "m = 100: R = 0.96"
    _set(w, m=4)
    assert w.artists["marker"].get_data()[1][0] == pytest.approx(0.5)
    assert w.readouts["shrinkage"].value == "Shrinkage factor at m = 4: 0.50"
    m = np.arange(1, 201)
    np.testing.assert_allclose(w.artists["curve"].get_ydata(), 5 / (5 + 20 / m))


@pytest.mark.parametrize("su, se", [(3, 12), (200, 800)])
def test_icc_readout_and_bars(explorer, su, se):
    w = explorer
    _set(w, sigma2_u=su, sigma2_e=se)
    assert w.readouts["icc"].value == "ICC = 0.20"
    assert w.artists["bar_between"].get_height() == pytest.approx(0.2)
    assert w.artists["bar_within"].get_y() == pytest.approx(0.2)
    assert w.artists["bar_within"].get_height() == pytest.approx(0.8)
    assert w.artists["text_icc"].get_text() == f"ICC = {su}/{su + se} = 0.20"
    assert "ICC is 0.20" in w.caption.value


def test_clusters_panel_moves_smoothly(explorer):
    w = explorer
    _set(w, sigma2_u=5, sigma2_e=20, m=4)
    a, b = w.draws
    raw = np.sqrt(5) * a + np.sqrt(5) * b
    np.testing.assert_allclose(w.artists["raw"].get_ydata(), raw)
    np.testing.assert_allclose(w.artists["estimate"].get_ydata(),
                               raw.mean() + 0.5 * (raw - raw.mean()))
    np.testing.assert_allclose(w.artists["grand_mean"].get_ydata(), [raw.mean()] * 2)
    lo, hi = w.axes["clusters"].get_ylim()
    assert lo < raw.min() and raw.max() < hi
    _set(w, m=100)  # same draws: only the sampling-error part shrinks
    np.testing.assert_allclose(w.artists["raw"].get_ydata(),
                               np.sqrt(5) * a + np.sqrt(20 / 100) * b)


def test_blitted_image_equals_fresh_render(explorer):
    w = explorer
    for values in ({"m": 7}, {"sigma2_u": 40}, {"sigma2_e": 333}, {"m": 150}, {"sigma2_u": 0}):
        _set(w, **values)
    fresh = widgets.variance_explorer(sigma2_u=0, sigma2_e=333, m=150)
    np.testing.assert_array_equal(_png_pixels(w.image.value), _png_pixels(fresh.image.value))
    buf = np.asarray(fresh.figure.canvas.buffer_rgba())[..., :3]
    np.testing.assert_array_equal(_png_pixels(fresh.image.value), buf)


def test_controls_are_described_and_classed(explorer):
    w = explorer
    for name, cls in [("sigma2_u", "lmm-slider-sigma2u"), ("sigma2_e", "lmm-slider-sigma2e"),
                      ("m", "lmm-slider-m")]:
        s = w.sliders[name]
        assert s.description and s.description_allow_html is False
        assert cls in s._dom_classes
        assert s.step == 1
    assert "σ²g" in w.sliders["sigma2_u"].description
    assert (w.sliders["sigma2_u"].min, w.sliders["sigma2_u"].max) == (0, 300)
    assert (w.sliders["sigma2_e"].min, w.sliders["sigma2_e"].max) == (1, 1000)
    assert (w.sliders["m"].min, w.sliders["m"].max) == (1, 200)
    assert "lmm-readout" in w.readout._dom_classes
    assert "lmm-figure" in w.image._dom_classes


def test_explorer_rejects_out_of_range_start():
    with pytest.raises(ValueError, match="from 1 to 200"):
        widgets.variance_explorer(m=0)
    with pytest.raises(ValueError, match="whole number"):
        widgets.variance_explorer(sigma2_u=2.5)


def test_static_fallback_bundle(explorer):
    w = explorer
    _set(w, sigma2_u=5, sigma2_e=20, m=4)
    bundle = w._repr_mimebundle_()
    assert WIDGET_VIEW in bundle
    png = base64.b64decode(bundle["image/png"])
    assert png == bytes(w.image.value)
    assert _png_pixels(png).shape[1] > 600
    assert "shrinkage factor is 0.50" in bundle["text/plain"]


def test_widgets_leave_no_pyplot_figures():
    before = plt.get_fignums()
    widgets.variance_explorer()
    widgets.story()
    assert plt.get_fignums() == before


# ============================================================================ story
@pytest.fixture(scope="module")
def story():
    return widgets.story()


def test_story_navigation(story):
    s = story
    s.go(1)
    assert s.counter.value.startswith("Scene 1 of 6")
    assert s.back_button.disabled and not s.next_button.disabled
    captions = [s.caption.value]
    for _ in range(5):
        s.next_button.click()
        captions.append(s.caption.value)
    assert s.counter.value.startswith("Scene 6 of 6") and s.scene == 6
    assert s.next_button.disabled and not s.back_button.disabled
    s.next_button.click()  # disabled in the browser; in code it stays at 6
    assert s.scene == 6
    assert len(set(captions)) == 6 and all(len(c) > 40 for c in captions)
    for _ in range(5):
        s.back_button.click()
    assert s.counter.value.startswith("Scene 1 of 6") and s.back_button.disabled
    for b, cls in [(s.next_button, "lmm-story-next"), (s.back_button, "lmm-story-back")]:
        assert b.description and cls in b._dom_classes
    assert "lmm-story-caption" in s.caption._dom_classes


def test_story_fits_once(monkeypatch):
    calls = []
    real = widgets.fit_story
    monkeypatch.setattr(_story, "fit_story", lambda d: calls.append(1) or real(d))
    s = widgets.story()
    for _ in range(5):
        s.next_button.click()
    assert len(calls) == 1


def test_scene1_pooled_line_is_least_squares(story):
    df = load_classrooms()
    slope, icpt = np.polyfit(df["hours"], df["score"], 1)  # independent least squares
    story.go(1)
    x, y = story.artists["pooled"].get_data()
    np.testing.assert_allclose(y, icpt + slope * np.asarray(x), rtol=1e-9)
    assert f"{slope:.2f} points per weekly study hour" in story.caption.value


def test_scene2_marks_classrooms_by_colour_and_shape(story):
    story.go(2)
    pts = [ln for ln in story.axes.get_lines() if ln.get_label().startswith("classroom")]
    assert len(pts) == 5
    assert len({ln.get_marker() for ln in pts}) == 5
    assert [ln.get_color() for ln in pts] == plots.palette(5)
    n = load_classrooms().groupby("classroom", observed=True).size()
    assert [ln.get_label() for ln in pts] == [f"classroom {g} (n = {k})" for g, k in n.items()]


def _slope(line):
    x, y = line.get_data()
    return (y[1] - y[0]) / (x[1] - x[0])


def test_scene3_parallel_scene4_fanning(story):
    story.go(3)
    s3 = [_slope(ln) for ln in story.artists["lines"].values()]
    np.testing.assert_allclose(s3, s3[0])
    assert s3[0] == pytest.approx(story.fits.fixed_intercepts[1])
    story.go(4)
    s4 = np.array([_slope(ln) for ln in story.artists["lines"].values()])
    assert s4.std() > 0.5  # the lines fan out
    assert "fan out" in story.caption.value


def test_scene5_partial_pooling(story):
    df = load_classrooms()
    story.go(5)
    own = [np.polyfit(d["hours"], d["score"], 1)[0]
           for _, d in df.groupby("classroom", observed=True)]
    np.testing.assert_allclose(story.artists["no_pooling"].get_xdata(), own, rtol=1e-9)
    mixed = story.artists["mixed"].get_xdata()
    avg = story.fits.fixed_slopes[1]
    # partial pooling: the mixed-model slopes are less spread out around the average than the
    # classrooms' own slopes
    assert np.sum((mixed - avg) ** 2) < np.sum((np.asarray(own) - avg) ** 2)
    pull = np.abs(np.asarray(own) - mixed)
    smallest = df.groupby("classroom", observed=True).size().idxmin()
    assert list(df["classroom"].cat.categories)[int(np.argmax(pull))] == smallest
    assert f"Classroom {smallest}, with only" in story.caption.value
    assert len(story.artists["arrows"]) == 5
    slope = np.polyfit(df["hours"], df["score"], 1)[0]
    np.testing.assert_allclose(story.artists["complete_pooling"].get_xdata(), [slope, slope])


def test_story_static_fallback(story):
    story.go(1)
    bundle = story._repr_mimebundle_()
    assert WIDGET_VIEW in bundle and "image/png" in bundle
    assert bundle["text/plain"].startswith("Scene 1 of 6")


# ============================================================================ caterpillar switch
def test_caterpillar_switch_dropdown():
    def ranef(file, model):
        return pd.DataFrame(json.loads((REF / file).read_text())["models"][model]["ranef"])

    w = widgets.caterpillar_switch({"m_int": ranef("sleepstudy.json", "m_int"),
                                    "m_slope": ranef("sleepstudy.json", "m_slope")},
                                   units="ms")
    assert w.dropdown.description and "lmm-caterpillar-model" in w.dropdown._dom_classes
    assert len(w.axes) == 1
    first = bytes(w.image.value)
    w.dropdown.value = "m_slope"
    assert len(w.axes) == 2 and bytes(w.image.value) != first
    assert "18 clusters" in w.caption.value
    assert "image/png" in w._repr_mimebundle_()


# ============================================================================ nbgrader
def test_all_widgets_skip_under_nbgrader(monkeypatch):
    monkeypatch.setenv(widgets.GRADING_ENV_VAR, "autograde")
    for make in (widgets.variance_explorer, widgets.story, widgets.glossary,
                 lambda: widgets.caterpillar_switch({})):
        w = make()
        assert isinstance(w, widgets.SkippedWidget)
        bundle = w._repr_mimebundle_()
        assert "skipped during grading" in bundle["text/plain"]
        assert "image/png" not in bundle


# ============================================================================ nbclient
@pytest.mark.slow
def test_executed_notebook_stores_static_images(tmp_path):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src) for src in (
        "from lmmcourse.widgets import variance_explorer, story, glossary",
        "variance_explorer(sigma2_u=5, sigma2_e=20, m=100)",
        "story()",
        "glossary()",
    )]
    client = nbclient.NotebookClient(nb, timeout=120, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    outs = [c.outputs for c in nb.cells[1:]]
    for cell_outputs, static in zip(outs, ("image/png", "image/png", "text/html"), strict=True):
        (out,) = [o for o in cell_outputs if o.output_type == "execute_result"]
        assert WIDGET_VIEW in out.data and static in out.data
    png = base64.b64decode(outs[0][0].data["image/png"])
    assert png.startswith(b"\x89PNG")
    assert "0.96" in outs[0][0].data["text/plain"]


def test_caterpillar_switch_with_fitted_results():
    import statsmodels.formula.api as smf

    df = pd.read_csv(REF / "data" / "Dyestuff.csv")
    res = smf.mixedlm("Yield ~ 1", df, groups=df["Batch"]).fit(reml=True)
    w = widgets.caterpillar_switch({"m0": res}, units="g")
    ref = pd.DataFrame(json.loads((REF / "dyestuff.json").read_text())["models"]["m0"]["ranef"])
    (pts,) = [ln for ln in w.axes[0].get_lines() if ln.get_marker() == "o"]
    np.testing.assert_allclose(pts.get_xdata(), ref.sort_values("blup")["blup"], rtol=1e-3,
                               atol=1e-2)
    with pytest.raises(ValueError, match="non-empty"):
        widgets.caterpillar_switch({})
