"""Accessibility of the static plots and widget images (issue 16).

* every plot function leaves alt text on its figure, and a displayed figure carries it as
  ``<img alt>`` in ``text/html`` beside the PNG, once per figure (also in an executed notebook);
* tick labels never overlap (the canvas is drawn and the labels' boxes compared);
* text in figures meets WCAG AA contrast (4.5:1) on the white background;
* legend entries differ by more than colour (marker, line style or hatch);
* the palette stays distinguishable under simulated colour-vision deficiencies (colorspacious).
"""

import base64
import html
import io
import itertools
import re
from types import SimpleNamespace

import matplotlib

matplotlib.use("Agg")

import matplotlib as mpl  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.colors import to_rgb  # noqa: E402
from matplotlib.text import Text  # noqa: E402
from PIL import Image  # noqa: E402

from lmmcourse import plots, simulate, widgets  # noqa: E402
from lmmcourse.data import load_clinics, load_trial  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _blup_table(n_groups: int, effects=("(Intercept)",)) -> pd.DataFrame:
    rng = np.random.default_rng(7)
    rows = [{"group": f"clinic {g:02d}", "effect": e, "blup": rng.normal(0, 5), "sd": 2.0}
            for e in effects for g in range(1, n_groups + 1)]
    return pd.DataFrame(rows)


def _influence(n: int) -> pd.DataFrame:
    d = np.random.default_rng(3).gamma(1.0, 0.03, n)
    d[4] = 0.4
    return pd.DataFrame({"cooks_distance": d}, index=[f"C{i:02d}" for i in range(1, n + 1)])


def _profile():
    lam = np.linspace(-1, 1, 7)
    return pd.DataFrame({"lambda": lam, "loglik": -10 * (lam - 0.3) ** 2})


# every public plot function, with data of the lesson's size (30 clinics, 30 hospitals)
PLOTS = {
    "caterpillar_30": lambda: plots.caterpillar(_blup_table(30)),
    "caterpillar_2_effects": lambda: plots.caterpillar(_blup_table(30, ("(Intercept)", "age"))),
    "qq": lambda: plots.qq(np.random.default_rng(1).normal(0, 17, 960), units="mmHg"),
    "residuals_vs": lambda: plots.residuals_vs(np.arange(200.0),
                                               np.random.default_rng(2).normal(0, 3, 200),
                                               xlabel="fitted SBP (mmHg)",
                                               ylabel="residual (mmHg)"),
    "shrinkage_plot": lambda: plots.shrinkage_plot(np.linspace(-10, 10, 30),
                                                   np.linspace(-6, 6, 30),
                                                   np.arange(5, 35), labels=None),
    "profile_plot": lambda: plots.profile_plot(_profile(), 0.3, (-0.14, 0.74)),
    "null_lrt_histogram": lambda: plots.null_lrt_histogram(
        np.where(np.random.default_rng(4).random(2000) < 0.5, 0.0,
                 np.random.default_rng(5).chisquare(1, 2000)), observed=2.5),
    "clinic_overview": lambda: plots.clinic_overview(load_clinics()),
    "cluster_lines": lambda: plots.cluster_lines(load_trial(), "treatment", "sbp_reduction",
                                                 "hospital_id", units="mmHg"),
    "ml_reml_plot": lambda: plots.ml_reml_plot(
        simulate.ml_reml_bias(6, 5, 4.0, 16.0, 300, seed=1, engine="profile"), 4.0),
    "cluster_influence_plot": lambda: plots.cluster_influence_plot(_influence(30),
                                                                   cluster_label="clinic"),
}


def _figure(result):
    return np.atleast_1d(result)[0].figure


@pytest.fixture(scope="module", params=["default rcParams", "use_style"])
def style(request):
    with mpl.rc_context():
        if request.param == "use_style":
            plots.use_style()
        yield request.param


# ------------------------------------------------------------------------------ alt text
@pytest.mark.parametrize("name", sorted(PLOTS))
def test_every_plot_has_alt_text_with_numbers(name):
    fig = _figure(PLOTS[name]())
    alt = plots.alt_text(fig)
    assert len(alt.split()) >= 12, alt
    assert re.search(r"\d", alt), alt
    tag = plots.figure_html(fig)
    assert f'alt="{html.escape(alt, quote=True)}"' in tag
    png = base64.b64decode(re.search(r"base64,([A-Za-z0-9+/=]+)", tag).group(1))
    assert Image.open(io.BytesIO(png)).size[0] > 300


def test_every_public_plot_function_is_covered():
    drawing = {n for n in plots.__all__ if callable(getattr(plots, n))} - {
        "palette", "use_style", "alt_text", "set_alt", "enable_alt_text", "figure_html",
        "img_tag", "caterpillar_alt", "caterpillar_figsize"}
    covered = {re.sub(r"_(30|2_effects)$", "", k) for k in PLOTS}
    assert drawing == covered


def test_figure_without_alt_gets_no_html_and_set_alt_adds_it():
    fig, ax = plt.subplots()
    ax.plot([1, 2, 3])
    assert plots.alt_text(fig) == "" and plots.figure_html(fig) is None
    plots.set_alt(fig, "A rising line from 1 to 3.")
    assert 'alt="A rising line from 1 to 3."' in plots.figure_html(fig)


def test_ipython_displays_figures_with_alt_once(monkeypatch):
    import IPython
    from IPython.core.formatters import DisplayFormatter

    shell = SimpleNamespace(display_formatter=DisplayFormatter())
    monkeypatch.setattr(IPython, "get_ipython", lambda: shell)
    fig, (a, b) = plt.subplots(1, 2)
    plots.qq([5, 1, 4, 2, 3], ax=a, title="left")
    plots.qq([1, 2, 3, 9], ax=b, title="right")
    b.set_title("changed after the call")  # still in the picture: drawn at display time
    data, _ = shell.display_formatter.format(fig)  # (the inline backend adds image/png)
    assert "text/html" in data
    assert data["text/html"].count("<img") == 1
    assert "left: 5 sorted values" in data["text/html"]
    assert "right: 4 sorted values" in data["text/html"]
    plain, _ = shell.display_formatter.format(plt.subplots()[0])
    assert "text/html" not in plain  # figures without alt text are displayed as before


@pytest.mark.slow
def test_executed_notebook_keeps_one_image_with_alt_per_figure(tmp_path):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src) for src in (
        "%matplotlib inline\nimport matplotlib.pyplot as plt\nfrom lmmcourse import plots",
        "plots.qq([5, 1, 4, 2, 3], units='mmHg');",
        "fig, (a, b) = plt.subplots(1, 2)\nplots.qq([1, 2, 3], ax=a)\nplots.qq([3, 4, 9], ax=b)\n"
        "b.set_title('changed')",
        "ax = plots.qq([1, 2, 3, 4])\nax",
        "plt.plot([1, 2, 3]);",
    )]
    client = nbclient.NotebookClient(nb, timeout=180, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    images = [[o for o in c.outputs if o.output_type == "display_data"] for c in nb.cells[1:]]
    assert [len(i) for i in images] == [1, 1, 1, 1]  # exactly one figure output per figure
    for outs in images[:3]:
        (out,) = outs
        assert "image/png" in out.data and 'alt="' in out.data["text/html"]
    assert "4 sorted values, from 1.00 to 4.00" in images[2][0].data["text/html"]
    assert "text/html" not in images[3][0].data  # plain matplotlib: unchanged


# ---------------------------------------------------------------------- tick labels
def _tick_boxes(ax, axis, renderer):
    lo, hi = sorted(axis.get_view_interval())
    boxes = []
    for tick in axis.get_major_ticks():
        lab = tick.label1
        pos = tick.get_loc()
        if lab.get_visible() and lab.get_text() and lo - 1e-9 <= pos <= hi + 1e-9:
            boxes.append((lab.get_text(), lab.get_window_extent(renderer)))
    return boxes


def _overlaps(boxes, gap=2.0):
    """Pairs of labels that overlap or come closer than ``gap`` pixels (touching is unreadable)."""
    out = []
    for (t1, b1), (t2, b2) in itertools.combinations(boxes, 2):
        w = min(b1.x1, b2.x1) - max(b1.x0, b2.x0)  # > 0: the boxes overlap horizontally
        h = min(b1.y1, b2.y1) - max(b1.y0, b2.y0)
        if w > -gap and h > -gap:
            out.append((t1, t2))
    return out


@pytest.mark.parametrize("name", sorted(PLOTS))
def test_tick_labels_do_not_overlap(name, style):
    fig = _figure(PLOTS[name]())
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            boxes = _tick_boxes(ax, axis, renderer)
            assert not _overlaps(boxes), (name, style, ax.get_title(), _overlaps(boxes)[:3])


def test_overlap_check_catches_a_crowded_axis():
    fig, ax = plt.subplots(figsize=(3, 2))
    ax.set_yticks(range(30), [f"clinic {i}" for i in range(30)])
    fig.canvas.draw()
    assert _overlaps(_tick_boxes(ax, ax.yaxis, fig.canvas.get_renderer()))


def test_caterpillar_grows_with_clusters():
    small = _figure(plots.caterpillar(_blup_table(5)))
    big = _figure(plots.caterpillar(_blup_table(30)))
    assert small.get_figheight() == pytest.approx(4.2)
    assert big.get_figheight() == pytest.approx(1.4 + 0.22 * 30)


# ----------------------------------------------------------------------- contrast
def _luminance(rgb):
    # WCAG 2.1 relative luminance
    c = np.asarray(rgb, float)
    c = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    return float(0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2])


def _contrast(fg, bg=(1.0, 1.0, 1.0)):
    a, b = sorted((_luminance(fg), _luminance(bg)), reverse=True)
    return (a + 0.05) / (b + 0.05)


def test_contrast_formula_against_wcag_examples():
    # WCAG: black on white 21:1; #767676 on white is the darkest grey just meeting 4.5:1
    assert _contrast((0, 0, 0)) == pytest.approx(21.0)
    assert _contrast(to_rgb("#767676")) == pytest.approx(4.54, abs=0.01)


@pytest.mark.parametrize("name", sorted(PLOTS))
def test_text_in_figures_meets_aa_contrast(name):
    fig = _figure(PLOTS[name]())
    for t in fig.findobj(Text):
        if t.get_visible() and t.get_text().strip():
            ratio = _contrast(to_rgb(t.get_color()))
            assert ratio >= 4.5, (name, t.get_text(), t.get_color(), round(ratio, 2))


# ------------------------------------------------------------- more than colour
def _signature(h):
    """What tells a legend entry apart without colour."""
    if hasattr(h, "get_marker"):
        ls = h.get_linestyle()
        return ("line", str(h.get_marker()) if h.get_marker() not in (None, "None", "") else "",
                "" if ls in ("None", "none", " ", "") else ls)
    if hasattr(h, "get_hatch") and not hasattr(h, "get_paths"):
        return ("patch", h.get_hatch() or "")
    paths = h.get_paths()
    return ("markers", paths[0].vertices.round(3).tobytes() if paths else b"")


@pytest.mark.parametrize("name", sorted(PLOTS))
def test_legend_entries_differ_by_more_than_colour(name):
    fig = _figure(PLOTS[name]())
    for ax in fig.axes:
        leg = ax.get_legend()
        if leg is None:
            continue
        sigs = [_signature(h) for h in leg.legend_handles]
        labels = [t.get_text() for t in leg.get_texts()]
        assert len(set(sigs)) == len(sigs), (name, list(zip(labels, sigs, strict=True)))


# -------------------------------------------------------------- colour vision
@pytest.mark.parametrize("cvd", ["deuteranomaly", "protanomaly", "tritanomaly"])
def test_palette_distinguishable_under_colour_vision_deficiency(cvd):
    colorspacious = pytest.importorskip("colorspacious")
    convert = colorspacious.cspace_convert
    rgb = np.array([to_rgb(c) for c in plots.palette()])
    sim = np.clip(convert(rgb, {"name": "sRGB1+CVD", "cvd_type": cvd, "severity": 100},
                          "sRGB1"), 0, 1)
    jab = convert(sim, "sRGB1", "CAM02-UCS")
    # CAM02-UCS distance: about 1 is a just-noticeable difference; 10 is clearly different
    dist = {(i, j): float(np.linalg.norm(jab[i] - jab[j]))
            for i, j in itertools.combinations(range(len(rgb)), 2)}
    worst = min(dist, key=dist.get)
    assert dist[worst] >= 10, (cvd, worst, dist[worst])
    # the simulation itself changes colours (it is not a no-op): orange and green move
    assert np.abs(sim - rgb).max() > 0.1


# ------------------------------------------------------------------- widget images
def test_widget_images_carry_alt_text():
    w = widgets.variance_explorer(sigma2_u=3, sigma2_e=12, m=20)
    assert isinstance(w.image, widgets.AltImage)
    assert w.image.alt == w.alt_text() and "ICC is 0.20" in w.image.alt
    state = w.image.get_state()
    # the Image view sets title from tooltip only when the model has a description
    assert state["description"] == "" and state["tooltip"] == w.image.alt
    w.sliders["m"].value = 4
    assert "m = 4" in w.image.alt
    bundle = w._repr_mimebundle_()
    assert f'alt="{html.escape(w.alt_text(), quote=True)}"' in bundle["text/html"]
    s = widgets.story()
    s.go(3)
    assert s.image.alt.startswith("Scene 3 of 6: Random intercepts")


def test_every_widget_control_has_a_name_and_the_focus_style():
    w = widgets.variance_explorer()
    for s in w.sliders.values():
        assert s.description and s.tooltip and str(s.min) in s.tooltip
    (helper,) = [c for c in w.children if "lmm-a11y" in c._dom_classes]
    assert ":focus-visible" in helper.value and "aria-label" in helper.value
    assert "lmm-widget" in w._dom_classes
    g = widgets.glossary()
    assert g.search.description and any("lmm-a11y" in c._dom_classes for c in g.children)
    s = widgets.story()
    assert s.back_button.tooltip and s.next_button.tooltip
