"""axe-core over the lesson's own content in JupyterLab, after "Run All Cells" (issue 16, item 5).

For every notebook in ``notebooks/``, opened in the JupyterLab that ``make lab`` starts (fixtures in
``conftest.py``) and run in full, axe-core checks the WCAG 2.0/2.1 level A and AA rules
(``wcag2a``, ``wcag2aa``, ``wcag21a``, ``wcag21aa``) over what the lesson itself puts on the page:
the rendered Markdown cells and every cell output, widgets included. JupyterLab's own chrome
(menus, toolbars, cell editors and prompts) is not counted: the course cannot change it.

The test fails on any violation of impact "serious" or "critical", and on any figure (an ``<img>``
in the lesson's content: static plots and widget images) without a text alternative (a non-empty
``alt``, ``aria-label``, ``aria-labelledby`` or ``title``; an ``<img>`` without a picture, ``src``
empty or ``data:,``, is not a figure). axe's own rule accepts ``alt=""`` as
"decorative"; no figure of the lesson is decorative, so this test does not. The full axe report of
each notebook is written to ``artifacts/browser/axe-<notebook>.json``.

axe-core is the npm package pinned in ``tests/browser/package.json``, installed by
``make browser-deps`` (``npm ci``) into ``tests/browser/node_modules/`` (git-ignored); without it
the test is skipped, except on CI (``CI`` set), where it fails.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from support.notebooks import ARTIFACTS, NOTEBOOKS

pytestmark = [pytest.mark.browser, pytest.mark.slow]

AXE = Path(__file__).resolve().parent / "node_modules" / "axe-core" / "axe.min.js"
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
FAILING_IMPACTS = {"serious", "critical"}

#: the lesson's content inside one notebook panel: rendered Markdown and every output area
_CONTENT = (".jp-Cell .jp-MarkdownOutput", ".jp-Cell .jp-OutputArea-output")

_JS_AXE = """async ([include, tags]) => {
  const res = await window.axe.run({include}, {runOnly: {type: 'tag', values: tags},
                                               resultTypes: ['violations']});
  return {version: window.axe.version,
          violations: res.violations.map((v) => ({
            id: v.id, impact: v.impact, help: v.help, tags: v.tags,
            nodes: v.nodes.map((n) => ({impact: n.impact, target: n.target,
                                        html: n.html.slice(0, 300), summary: n.failureSummary}))}))};
}"""

#: every <img> in the lesson's content with its accessible-name sources
_JS_IMAGES = """(selectors) => {
  const out = [];
  for (const sel of selectors) {
    document.querySelectorAll(sel).forEach((root) => {
      root.querySelectorAll('img').forEach((img) => {
        const by = (img.getAttribute('aria-labelledby') || '').split(/\\s+/).filter(Boolean)
          .map((id) => (document.getElementById(id) || {}).textContent || '').join(' ');
        out.push({alt: img.getAttribute('alt'), label: img.getAttribute('aria-label'),
                  labelledby: by, title: img.getAttribute('title'),
                  role: img.getAttribute('role'), cls: img.className,
                  src: (img.getAttribute('src') || '').slice(0, 40)});
      });
    });
  }
  return out;
}"""


def _text_alternative(img: dict) -> str:
    if img["role"] in ("presentation", "none"):
        return ""
    for key in ("alt", "label", "labelledby", "title"):
        if (img[key] or "").strip():
            return img[key].strip()
    return ""


@pytest.fixture(scope="session")
def axe_source():
    if not AXE.is_file():
        reason = (f"axe-core is not installed ({AXE} missing): run `make browser-deps` "
                  "(npm ci in tests/browser/)")
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    return AXE.read_text(encoding="utf-8")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_lesson_content_passes_axe_wcag21_aa(executed, axe_source, path):
    nb = executed(path)
    page = nb.page
    if not page.evaluate("() => !!window.axe"):
        page.add_script_tag(content=axe_source)
    scope = f'[id="{nb.id}"]'
    include = [f"{scope} {sel}" for sel in _CONTENT]
    report = page.evaluate(_JS_AXE, [include, WCAG_TAGS])
    images = page.evaluate(_JS_IMAGES, include)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / f"axe-{path.stem}.json").write_text(
        json.dumps({"notebook": path.name, "tags": WCAG_TAGS, **report, "images": images}, indent=1),
        encoding="utf-8")

    assert images or "plots." not in path.read_text(encoding="utf-8"), \
        f"{path.name}: no figure found in the page, so nothing was checked"
    # an <img> with no picture (src "" or "data:,", e.g. a widget image before its first frame) is no figure
    images = [i for i in images if i["src"] not in ("", "data:,")]
    unnamed = [f"{i['cls'] or 'img'} src={i['src']}..." for i in images if not _text_alternative(i)]
    serious = [v for v in report["violations"] if v["impact"] in FAILING_IMPACTS]
    lines = [f"{v['impact']} {v['id']} ({len(v['nodes'])} nodes): {v['help']}; first: "
             f"{v['nodes'][0]['target']} {v['nodes'][0]['html'][:120]}" for v in serious]
    summary = (f"{path.name}: {sum(len(v['nodes']) for v in serious)} serious/critical axe "
               f"{report['version']} violation nodes in {len(serious)} rules, "
               f"{len(unnamed)} of {len(images)} figures without a text alternative")
    assert not serious and not unnamed, "\n".join(
        [summary, *lines, *(f"no text alternative: {u}" for u in unnamed)])
