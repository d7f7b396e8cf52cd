"""Text alternatives, control names and keyboard use of the lesson's figures in real JupyterLab.

A small notebook (one widget of each kind with a slider or button, one static plot) is run in
headless Chromium; the DOM is then read as a screen reader would meet it:

* every widget figure (``.lmm-figure``, an ``<img>``) has a non-empty ``title``, its
  accessible name, equal to the widget's caption;
* every static plot is shown as ``<img class="lmm-plot" alt="...">`` (text/html output);
* every slider handle (``role="slider"``) has an ``aria-label`` naming the slider;
* the arrow keys move a focused slider, and the focused handle has a visible outline.
"""

from __future__ import annotations

import os

import pytest
from support import browser as _browser

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CELLS = [
    "%matplotlib inline\nfrom lmmcourse import plots, widgets",
    "widgets.variance_explorer(sigma2_u=3, sigma2_e=12, m=20)",
    "plots.qq([5, 1, 4, 2, 3], units='mmHg');",
    "widgets.story()",
]


@pytest.fixture(scope="module")
def notebook(tmp_path_factory):
    reason = _browser.unavailable_reason()
    if reason:
        if os.environ.get("CI"):
            pytest.fail(f"browser test cannot run on CI: {reason}")
        pytest.skip(reason)
    root = tmp_path_factory.mktemp("a11y-root")
    _browser.write_notebook(root / "a11y.ipynb", CELLS)
    with _browser.lab_session(root) as lab:
        nb = lab.open_and_run("a11y.ipynb")
        yield nb


def test_no_errors(notebook):
    assert not notebook.errors()


def test_widget_figures_have_accessible_names(notebook):
    from playwright.sync_api import expect

    figs = notebook.root.locator("img.lmm-figure")
    expect(figs).to_have_count(2)
    captions = notebook.root.locator(".lmm-caption")
    for i in range(2):
        title = figs.nth(i).get_attribute("title")
        assert title and len(title.split()) > 10
        assert title.split(":")[0] in captions.nth(i).inner_text() or "Scene" in title
    explorer_title = figs.first.get_attribute("title")
    assert "ICC is 0.20" in explorer_title  # 3 / (3 + 12)


def test_static_plot_is_an_img_with_alt(notebook):
    img = notebook.root.locator("img.lmm-plot")
    assert img.count() == 1
    alt = img.first.get_attribute("alt")
    assert alt.startswith("Normal QQ plot: 5 sorted values, from 1.00 to 5.00 mmHg")


def test_slider_handles_are_named(notebook):
    from playwright.sync_api import expect

    handles = notebook.root.locator(".lmm-variance-explorer [role=slider]")
    expect(handles).to_have_count(3)
    names = [handles.nth(i).get_attribute("aria-label") for i in range(3)]
    assert names[0].startswith("σ²g (sigma2_u)") and names[2].startswith("m: cluster size")


def test_keyboard_moves_slider_with_visible_focus(notebook):
    from playwright.sync_api import expect

    w = notebook.root.locator(".lmm-variance-explorer").first
    handle = w.locator(".lmm-slider-m [role=slider]")
    handle.focus()
    handle.press("ArrowRight")
    # m = 21: shrinkage 3 / (3 + 12/21) = 0.84
    expect(w.locator(".lmm-readout-shrinkage")).to_have_text("Shrinkage factor at m = 21: 0.84")
    style = handle.evaluate("e => [getComputedStyle(e).outlineStyle, getComputedStyle(e).outlineWidth]")
    assert style[0] != "none" and float(style[1].rstrip("px")) >= 2
