"""The self-study notebooks in a real JupyterLab 4 started by ``make lab``, driven by headless Chromium.

A kernel-only run (nbval) cannot see front-end failures such as "Error displaying widget: model
not found", the usual way widget notebooks break on Binder, nor figures that a kernel never sends
(a non-inline Matplotlib backend). Here one JupyterLab, started through ``make lab`` with the
caller's environment as it is (serving a temporary copy of ``notebooks/`` and ``data/``), and one
Chromium serve the whole session (fixtures in ``conftest.py``):

* every notebook in ``notebooks/`` runs with "Run All Cells" without an error output, and every
  widget it calls is rendered (no "Error displaying widget");
* every code cell shows as many decoded figures as the same cell produces in a headless run of the
  notebook (nbclient), and every cell that calls a ``plots.*`` function shows at least one;
* the classroom defaults shipped with the venv hold: no news/update question pops up;
* the variance explorer answers the keyboard: the figure changes and the ICC readout shows
  sigma2_u / (sigma2_u + sigma2_e) (the lesson's definition) for the slider values on the page;
* the story's Next button walks through scenes 1 to 6 and Back returns to scene 1;
* the glossary search narrows the list to entries containing the word, and nonsense shows the
  no-match message.

Screenshots go to ``artifacts/browser/`` (git-ignored).
"""

from __future__ import annotations

import json
import re
import urllib.request

import pytest
from support.notebooks import ARTIFACTS, NOTEBOOKS, REPO, WIDGET_CLASSES, code_cells, notebook_with
from support.notebooks import widgets_called as _widgets_called

pytestmark = [pytest.mark.browser, pytest.mark.slow]

_notebook_with = notebook_with

_JS_IMAGE_DIGEST = """async (el) => {
  const img = el.tagName === 'IMG' ? el : el.querySelector('img');
  const buf = await (await fetch(img.src)).arrayBuffer();
  const h = new Uint8Array(await crypto.subtle.digest('SHA-256', buf));
  return Array.from(h, (x) => x.toString(16).padStart(2, '0')).join('');
}"""

#: helpers of lmmcourse.plots that draw nothing (style, colours, alt text, sizes, HTML)
_NOT_DRAWING = ("use_style", "palette", "set_alt", "alt_text", "caterpillar_alt", "caterpillar_figsize",
                "enable_alt_text", "figure_html", "img_tag")
#: a call of any other function of lmmcourse.plots: such a cell draws at least one figure
_PLOT_CALL = re.compile(r"(?<![\w.])plots\.(?!(?:{})\b)[a-z]\w*\(".format("|".join(_NOT_DRAWING)))


# --------------------------------------------------------------------------------------------
# Every notebook runs clean in the front end and shows its figures
# --------------------------------------------------------------------------------------------
def test_notebooks_exist():
    assert NOTEBOOKS, "notebooks/ holds no .ipynb: run `make build`"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_without_errors_in_jupyterlab(executed, path):
    nb = executed(path)
    shot_at = next((WIDGET_CLASSES[w] for w in WIDGET_CLASSES if w in _widgets_called(path)), None)
    nb.screenshot(ARTIFACTS / f"{path.stem}.png", shot_at)
    errors = nb.errors()
    assert not errors, f"{path.name} shows error outputs in JupyterLab:\n" + "\n".join(errors)
    assert nb.run_status == "done", f"Run All Cells ended with {nb.run_status!r}"
    assert not nb.unexecuted(), f"cells never executed: {nb.unexecuted()}"
    for name in _widgets_called(path):
        assert nb.root.locator(WIDGET_CLASSES[name]).count() >= 1, f"{name}() was not rendered"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_every_plotting_cell_shows_its_figures(executed, headless, path):
    expected = headless(path)
    code = code_cells(path)
    plotting = {i for i, src in code.items() if _PLOT_CALL.search(src)}
    blank = sorted(i for i in plotting if expected.get(i, 0) == 0)
    assert not blank, (
        f"{path.name}: cells {blank} call a plots.* function but showed no figure even in a headless "
        "run: is a non-inline Matplotlib backend forced in this environment (MPLBACKEND)?")
    shown = executed(path).figures()
    diff = {i: (expected[i], shown.get(i, 0)) for i in expected if expected[i] != shown.get(i, 0)}
    assert not diff, (
        f"{path.name}: figures per cell differ between the headless run and JupyterLab "
        "{cell index: (headless, shown)}: " + ", ".join(
            f"{i}: {v} ({code[i][:50]!r})" for i, v in sorted(diff.items())))
    assert sum(shown.values()) == sum(expected.values())


def test_no_news_or_update_question(lab, executed):
    """The venv's classroom defaults: JupyterLab never asks about news or updates."""
    executed(NOTEBOOKS[0])  # the lab has been up for a while and has run a notebook
    toasts = lab.page.locator(".Toastify__toast").all_inner_texts()
    assert not [t for t in toasts if re.search(r"news|update", t, re.I)], toasts
    url = (f"{lab.server.base_url}/lab/api/settings/@jupyterlab/apputils-extension:notification"
           f"?token={lab.server.token}")
    with urllib.request.urlopen(url, timeout=10) as r:
        schema = json.loads(r.read())["schema"]["properties"]
    assert schema["fetchNews"]["default"] == "false"
    assert schema["checkForUpdates"]["default"] is False


# --------------------------------------------------------------------------------------------
# Widgets respond to the student
# --------------------------------------------------------------------------------------------
def _slider_value(slider) -> int:
    return int(slider.locator(".widget-readout").inner_text().strip())


def test_variance_explorer_slider_moves_figure_and_icc(executed):
    from playwright.sync_api import expect

    nb = executed(_notebook_with("variance_explorer"))
    w = nb.root.locator(".lmm-variance-explorer").first
    w.scroll_into_view_if_needed()
    su_slider, se_slider = w.locator(".lmm-slider-sigma2u"), w.locator(".lmm-slider-sigma2e")
    icc, figure = w.locator(".lmm-readout-icc"), w.locator(".lmm-figure")
    su0, se = _slider_value(su_slider), _slider_value(se_slider)
    assert icc.inner_text() == f"ICC = {su0 / (su0 + se):.2f}"
    digest0 = figure.evaluate(_JS_IMAGE_DIGEST)

    handle = su_slider.locator(".noUi-handle")
    handle.focus()
    key, sign = ("ArrowLeft", -1) if su0 + 3 > 300 else ("ArrowRight", 1)
    for _ in range(3):
        handle.press(key)
    expect(su_slider.locator(".widget-readout")).to_have_text(str(su0 + 3 * sign))
    su = _slider_value(su_slider)
    expect(icc).to_have_text(f"ICC = {su / (su + se):.2f}")
    assert su / (su + se) != su0 / (su0 + se)
    expect(w.locator(".lmm-caption")).to_contain_text(f"between-group variance {su}")
    digest1 = figure.evaluate(_JS_IMAGE_DIGEST)
    assert digest1 != digest0, "the figure did not change after the slider moved"

    # and back with the opposite key: the original state and the original picture return
    back = "ArrowLeft" if key == "ArrowRight" else "ArrowRight"
    for _ in range(3):
        handle.press(back)
    expect(su_slider.locator(".widget-readout")).to_have_text(str(su0))
    expect(icc).to_have_text(f"ICC = {su0 / (su0 + se):.2f}")
    expect(w.locator(".lmm-caption")).to_contain_text(f"between-group variance {su0}")
    nb.screenshot(ARTIFACTS / "variance_explorer.png", ".lmm-variance-explorer")


def test_story_next_walks_six_scenes_and_back_returns(executed):
    from playwright.sync_api import expect

    nb = executed(_notebook_with("story"))
    w = nb.root.locator(".lmm-story").first
    w.scroll_into_view_if_needed()
    counter, caption = w.locator(".lmm-story-counter"), w.locator(".lmm-story-caption")
    nxt, back = w.locator("button.lmm-story-next"), w.locator("button.lmm-story-back")
    expect(counter).to_contain_text("Scene 1 of 6")
    expect(back).to_be_disabled()
    captions = [caption.inner_text()]
    for k in range(2, 7):
        nxt.click()
        expect(counter).to_contain_text(f"Scene {k} of 6")
        expect(caption).not_to_have_text(captions[-1])
        captions.append(caption.inner_text())
    assert len(set(captions)) == 6, "two scenes share a caption"
    expect(nxt).to_be_disabled()
    for k in range(5, 0, -1):
        back.click()
        expect(counter).to_contain_text(f"Scene {k} of 6")
        expect(caption).to_have_text(captions[k - 1])
    expect(back).to_be_disabled()


def test_glossary_search_narrows_and_reports_no_match(executed):
    from playwright.sync_api import expect

    nb = executed(_notebook_with("glossary"))
    w = nb.root.locator(".lmm-glossary").first
    w.scroll_into_view_if_needed()
    box = w.locator(".lmm-glossary-search input")
    count, entries = w.locator(".lmm-glossary-count"), w.locator(".lmm-glossary-entry")
    total = entries.count()
    assert total >= 20
    expect(count).to_have_text(f"Showing {total} of {total} entries")

    # independent reference: entries whose term, aliases or definition contain "reml", any case
    glossary = json.loads((REPO / "lmmcourse" / "glossary.json").read_text(encoding="utf-8"))
    assert total == len(glossary)
    hits = [e for e in glossary
            if "reml" in " ".join([e["term"], *e.get("aliases", []), e["text"]]).lower()]
    n = len(hits)
    assert 1 <= n < total
    box.click()
    box.press_sequentially("REML", delay=30)
    expect(count).to_have_text(f"Showing {n} of {total} entries")
    expect(entries).to_have_count(n)
    texts = entries.all_inner_texts()
    assert sorted(next(e["term"] for e in hits if e["term"] in t) for t in texts) == \
        sorted(e["term"] for e in hits), texts

    box.fill("")
    box.press_sequentially("qqxzv", delay=30)
    expect(w.locator(".lmm-glossary-results")).to_contain_text("No entry matches")
    expect(count).to_have_text(f"Showing 0 of {total} entries")
    assert entries.count() == 0
