"""The self-study notebooks in a real JupyterLab 4, driven by headless Chromium (GitHub issue 7).

A kernel-only run (nbval) cannot see front-end failures such as "Error displaying widget: model
not found", the usual way widget notebooks break on Binder. Here one JupyterLab server (serving a
temporary copy of ``notebooks/`` and ``data/``) and one Chromium serve the whole module:

* every notebook in ``notebooks/`` runs with "Run All Cells" without an error output, and every
  widget it calls is rendered (no "Error displaying widget");
* the variance explorer answers the keyboard: the figure changes and the ICC readout shows
  sigma2_u / (sigma2_u + sigma2_e) (the lesson's definition) for the slider values on the page;
* the story's Next button walks through scenes 1 to 6 and Back returns to scene 1;
* the glossary search narrows the list to entries containing the word, and nonsense shows the
  no-match message.

Screenshots go to ``artifacts/browser/`` (git-ignored). Without Chromium or Playwright the tests
are skipped, except when the environment variable ``CI`` is set: there they fail.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pytest
from support import browser as _browser

pytestmark = [pytest.mark.browser, pytest.mark.slow]

REPO = _browser.REPO
ARTIFACTS = REPO / "artifacts" / "browser"
NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))

#: widget function called in a notebook -> CSS class of its rendered root
WIDGET_CLASSES = {
    "variance_explorer": ".lmm-variance-explorer",
    "story": ".lmm-story",
    "glossary": ".lmm-glossary",
    "caterpillar_switch": ".lmm-caterpillar-switch",
}

_JS_IMAGE_DIGEST = """async (el) => {
  const img = el.tagName === 'IMG' ? el : el.querySelector('img');
  const buf = await (await fetch(img.src)).arrayBuffer();
  const h = new Uint8Array(await crypto.subtle.digest('SHA-256', buf));
  return Array.from(h, (x) => x.toString(16).padStart(2, '0')).join('');
}"""


def _widgets_called(path: Path) -> set[str]:
    """Names of the lesson widgets called in the notebook's code cells (comments ignored)."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    code = "\n".join(
        line for c in nb["cells"] if c["cell_type"] == "code"
        for line in "".join(c["source"]).splitlines() if not line.lstrip().startswith("#")
    )
    return {name for name in WIDGET_CLASSES if re.search(rf"(?<![\w]){name}\(", code)}


def _notebook_with(widget: str) -> Path:
    for p in NOTEBOOKS:
        if widget in _widgets_called(p):
            return p
    pytest.fail(f"no notebook in notebooks/ calls {widget}(): the lesson needs it (run `make build` "
                "if notebooks/ is out of date)")


# --------------------------------------------------------------------------------------------
# Fixtures: one server + one browser for the module; each notebook is run at most once
# --------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def lab():
    reason = _browser.unavailable_reason()
    if reason:
        if os.environ.get("CI"):
            pytest.fail(f"browser test cannot run on CI: {reason}")
        pytest.skip(reason)
    from playwright.sync_api import expect

    expect.set_options(timeout=15_000)  # the kernel shares 2 cores with the rest of the suite
    with _browser.lab_session() as session:
        try:
            yield session
        finally:
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            shutil.copy(session.server.log_path, ARTIFACTS / "jupyterlab.log")
            (ARTIFACTS / "browser-console.log").write_text("\n".join(session.console_errors) + "\n",
                                                           encoding="utf-8")


@pytest.fixture(scope="module")
def executed(lab):
    """``executed(path)``: the notebook opened in the lab after "Run All Cells" (run once)."""

    def run(path: Path) -> _browser.Notebook:
        rel = f"notebooks/{path.name}"
        nb = lab.open(rel)
        if not nb.run_status:
            nb.run_all()  # waits for the kernel to be idle and every widget view to render
        return nb

    return run


# --------------------------------------------------------------------------------------------
# Every notebook runs clean in the front end
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

    # independent reference: entries whose term or definition contains "reml", any case
    glossary = json.loads((REPO / "lmmcourse" / "glossary.json").read_text(encoding="utf-8"))
    assert total == len(glossary)
    n = sum("reml" in (e["term"] + " " + e["text"]).lower() for e in glossary)
    assert 1 <= n < total
    box.click()
    box.press_sequentially("REML", delay=30)
    expect(count).to_have_text(f"Showing {n} of {total} entries")
    expect(entries).to_have_count(n)
    texts = entries.all_inner_texts()
    assert all("reml" in t.lower() for t in texts), texts

    box.fill("")
    box.press_sequentially("qqxzv", delay=30)
    expect(w.locator(".lmm-glossary-results")).to_contain_text("No entry matches")
    expect(count).to_have_text(f"Showing 0 of {total} entries")
    assert entries.count() == 0
