"""A keyboard-only walk through the lesson's widgets in JupyterLab (issue 16, item 2).

No mouse on the widgets: each walk starts where a keyboard user lands after selecting the widget's
cell (the cell's input prompt is clicked once, which puts JupyterLab in command mode on that cell,
as pressing Escape would), then only Tab, Shift+Tab, the arrow keys, Enter and typed text are used:

* Tab reaches the variance explorer's between-group variance slider; ArrowRight/ArrowLeft move it
  and the ICC readout follows sigma2_u / (sigma2_u + sigma2_e);
* Tab reaches the story's Next button; Enter goes to scene 2, Shift+Tab and Enter on Back return;
* Tab reaches the glossary's search box; typing "ICC" narrows the list to the entries that mention
  it (counted independently from ``lmmcourse/glossary.json``);
* Tab reaches the reflection box; typed text lands in it;
* every control that receives focus shows it (a visible outline, or a box-shadow that appears only
  on focus), read from the computed style of ``document.activeElement``.
"""

from __future__ import annotations

import json
import re

import pytest
from support.notebooks import REPO, notebook_with

pytestmark = [pytest.mark.browser, pytest.mark.slow]

MAX_TABS = 12

_JS_ACTIVE = """() => {
  const a = document.activeElement;
  if (!a) return null;
  const cs = getComputedStyle(a);
  return {tag: a.tagName, cls: typeof a.className === 'string' ? a.className : '',
          label: a.getAttribute('aria-label') || a.getAttribute('title') || a.textContent.slice(0, 60),
          outlineStyle: cs.outlineStyle, outlineWidth: parseFloat(cs.outlineWidth) || 0,
          outlineColor: cs.outlineColor, boxShadow: cs.boxShadow};
}"""

_JS_SHADOW = "(el) => getComputedStyle(el).boxShadow"
_JS_HAS_FOCUS = "(el) => el === document.activeElement || el.contains(document.activeElement)"


def _transparent(color: str) -> bool:
    m = re.match(r"rgba?\(([^)]*)\)", color or "")
    parts = [p.strip() for p in m.group(1).replace("/", ",").split(",")] if m else []
    return color == "transparent" or (len(parts) == 4 and float(parts[3]) == 0)


def _assert_focus_visible(page, unfocused_shadow: str, what: str):
    a = page.evaluate(_JS_ACTIVE)
    outline = (a["outlineStyle"] not in ("none", "hidden") and a["outlineWidth"] >= 1
               and not _transparent(a["outlineColor"]))
    shadow = a["boxShadow"] not in ("none", unfocused_shadow)
    assert outline or shadow, (f"{what} has keyboard focus but shows no focus indicator: outline "
                               f"{a['outlineStyle']} {a['outlineWidth']}px {a['outlineColor']}, "
                               f"box-shadow {a['boxShadow']!r}")


def _tab_to(nb, widget, target: str, what: str, backwards: bool = False):
    """Select the widget's cell, then press Tab until ``target`` (inside ``widget``) has focus.

    Returns the target's locator. Fails naming the elements Tab visited when it is not reached.
    """
    page = nb.page
    widget.scroll_into_view_if_needed()
    cell = widget.locator("xpath=ancestor::div[contains(concat(' ', @class, ' '), ' jp-Cell ')][1]")
    target_loc = widget.locator(target).first
    unfocused_shadow = target_loc.evaluate(_JS_SHADOW)
    cell.locator(".jp-InputPrompt").first.click()
    visited = []
    for _ in range(MAX_TABS):
        page.keyboard.press("Shift+Tab" if backwards else "Tab")
        if target_loc.evaluate(_JS_HAS_FOCUS):
            return target_loc, unfocused_shadow
        a = page.evaluate(_JS_ACTIVE)
        visited.append(f"{a['tag']}.{a['cls'][:40]} ({a['label'][:40]!r})")
    pytest.fail(f"{what} was not reached with {MAX_TABS} Tab presses from its cell; focus went to: "
                + "; ".join(visited))


def test_tab_and_arrows_move_the_variance_explorer(executed):
    from playwright.sync_api import expect

    nb = executed(notebook_with("variance_explorer"))
    w = nb.root.locator(".lmm-variance-explorer").first
    su_slider, se_slider = w.locator(".lmm-slider-sigma2u"), w.locator(".lmm-slider-sigma2e")
    handle, shadow = _tab_to(nb, w, ".lmm-slider-sigma2u .noUi-handle", "the sigma2_u slider")
    _assert_focus_visible(nb.page, shadow, "the sigma2_u slider")
    su0 = int(su_slider.locator(".widget-readout").inner_text())
    se = int(se_slider.locator(".widget-readout").inner_text())
    key, back, sign = ("ArrowLeft", "ArrowRight", -1) if su0 >= 298 else ("ArrowRight", "ArrowLeft", 1)
    for _ in range(2):
        nb.page.keyboard.press(key)
    su = su0 + 2 * sign
    expect(su_slider.locator(".widget-readout")).to_have_text(str(su))
    expect(w.locator(".lmm-readout-icc")).to_have_text(f"ICC = {su / (su + se):.2f}")
    for _ in range(2):
        nb.page.keyboard.press(back)
    expect(su_slider.locator(".widget-readout")).to_have_text(str(su0))
    expect(w.locator(".lmm-readout-icc")).to_have_text(f"ICC = {su0 / (su0 + se):.2f}")


def test_enter_on_story_next_and_back(executed):
    from playwright.sync_api import expect

    nb = executed(notebook_with("story"))
    w = nb.root.locator(".lmm-story").first
    counter = w.locator(".lmm-story-counter")
    expect(counter).to_contain_text("Scene 1 of 6")
    nxt, shadow = _tab_to(nb, w, "button.lmm-story-next", "the story's Next button")
    _assert_focus_visible(nb.page, shadow, "the story's Next button")
    nb.page.keyboard.press("Enter")
    expect(counter).to_contain_text("Scene 2 of 6")
    back = w.locator("button.lmm-story-back")
    expect(back).to_be_enabled()
    back_shadow = back.evaluate(_JS_SHADOW)
    # Back sits before Next: Shift+Tab from wherever Enter left the focus, until Back has it
    for _ in range(MAX_TABS):
        if back.evaluate("(el) => el === document.activeElement"):
            break
        nb.page.keyboard.press("Shift+Tab")
    else:
        pytest.fail("Shift+Tab from Next never reached the story's Back button")
    _assert_focus_visible(nb.page, back_shadow, "the story's Back button")
    nb.page.keyboard.press("Enter")
    expect(counter).to_contain_text("Scene 1 of 6")


def test_typing_in_the_glossary_search(executed):
    from playwright.sync_api import expect

    nb = executed(notebook_with("glossary"))
    w = nb.root.locator(".lmm-glossary").first
    box, shadow = _tab_to(nb, w, ".lmm-glossary-search input", "the glossary search box")
    _assert_focus_visible(nb.page, shadow, "the glossary search box")
    nb.page.keyboard.press("Control+A")
    nb.page.keyboard.press("Backspace")
    glossary = json.loads((REPO / "lmmcourse" / "glossary.json").read_text(encoding="utf-8"))
    total = len(glossary)
    expect(w.locator(".lmm-glossary-count")).to_have_text(f"Showing {total} of {total} entries")
    # independent count: entries whose term, aliases or definition mention "icc" (any case)
    n = sum("icc" in " ".join([e["term"], *e.get("aliases", []), e["text"]]).lower() for e in glossary)
    assert 1 <= n < total
    nb.page.keyboard.type("ICC", delay=40)
    expect(box).to_have_value("ICC")
    expect(w.locator(".lmm-glossary-count")).to_have_text(f"Showing {n} of {total} entries")


def test_typing_in_a_reflection_box(executed):
    from playwright.sync_api import expect

    nb = executed(notebook_with("glossary"))  # every notebook has reflections; use an opened one
    w = nb.root.locator(".lmm-reflection-text").first.locator(
        "xpath=ancestor::div[contains(concat(' ', @class, ' '), ' jp-OutputArea-output ')][1]")
    area, shadow = _tab_to(nb, w, ".lmm-reflection-text textarea", "the reflection box")
    _assert_focus_visible(nb.page, shadow, "the reflection box")
    nb.page.keyboard.press("Control+A")
    nb.page.keyboard.press("Backspace")
    text = "Pooling borrows strength from the other clinics."
    nb.page.keyboard.type(text, delay=10)
    expect(area).to_have_value(text)
