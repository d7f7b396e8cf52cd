"""End-to-end latency of the variance explorer in JupyterLab + headless Chromium.

What a student feels: from the key press on the focused sigma2_u slider handle to the new figure in
the page. Both instants are taken inside the page with ``performance.now()``: a capturing
``keydown`` listener stamps the press, a ``MutationObserver`` on the figure's ``<img src>`` stamps
the arrival of the new PNG (round trip: front end -> kernel -> update -> PNG -> front end), and
the image's ``load`` event stamps when it has been decoded. One ArrowRight per move, the next move
only after the previous figure arrived; 3 warm-up moves, then 20 measured.

Server and browser start-up are shared with the browser test (``tests/support/browser.py``). Run with
``make bench`` or ``python benchmarks/run.py browser``; needs ``/usr/bin/chromium``.
"""

import sys
import tempfile
from functools import lru_cache
from pathlib import Path

import numpy as np

# the browser driver is test support code: tests/support/browser.py
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from support import browser as _browser  # noqa: E402

N_WARMUP, N_MOVES = 3, 20

_JS_INSTALL = """(el) => {
  const img = el.tagName === 'IMG' ? el : el.querySelector('img');
  const L = window.__lmmLat = {t0: null, src: [], load: []};
  document.addEventListener('keydown', () => { L.t0 = performance.now(); }, true);
  new MutationObserver(() => { if (L.t0 !== null) L.src.push(performance.now() - L.t0); })
    .observe(img, {attributes: true, attributeFilter: ['src']});
  img.addEventListener('load', () => { if (L.t0 !== null) L.load.push(performance.now() - L.t0); });
}"""


@lru_cache(maxsize=1)
def _measure() -> dict:
    """Latencies in ms: {"src": [...], "load": [...]} for N_MOVES measured key presses."""
    with tempfile.TemporaryDirectory(prefix="lmm-bench-browser-") as tmp:
        root = Path(tmp) / "root"
        _browser.write_notebook(root / "explorer.ipynb", [
            "from lmmcourse import widgets\nwidgets.variance_explorer(sigma2_u=5, sigma2_e=20, m=4)",
        ])
        with _browser.lab_session(root, state_dir=Path(tmp) / "state") as lab:
            nb = lab.open_and_run("explorer.ipynb")
            errors = nb.errors()
            if errors:
                raise RuntimeError("the explorer notebook failed in JupyterLab:\n" + "\n".join(errors))
            w = nb.root.locator(".lmm-variance-explorer").first
            w.locator(".lmm-figure").evaluate(_JS_INSTALL)
            handle = w.locator(".lmm-slider-sigma2u .noUi-handle")
            handle.focus()
            for i in range(N_WARMUP + N_MOVES):
                handle.press("ArrowRight")
                lab.page.wait_for_function(
                    "(n) => window.__lmmLat.src.length >= n && window.__lmmLat.load.length >= n",
                    arg=i + 1, timeout=30_000, polling="raf")
            lat = lab.page.evaluate("() => window.__lmmLat")
    return {k: np.asarray(v[N_WARMUP:N_WARMUP + N_MOVES]) for k, v in lat.items() if k != "t0"}


def bench_browser_key_to_new_figure():
    ms = _measure()["src"]
    return {"name": "JupyterLab/Chromium: slider key press -> new figure src (median of 20)",
            "value": float(np.median(ms)), "unit": "ms", "target": "<= 80"}


def bench_browser_key_to_new_figure_p90():
    ms = _measure()["src"]
    return {"name": "JupyterLab/Chromium: slider key press -> new figure src (90th percentile)",
            "value": float(np.percentile(ms, 90)), "unit": "ms", "target": "-"}


def bench_browser_key_to_figure_decoded():
    ms = _measure()["load"]
    return {"name": "JupyterLab/Chromium: slider key press -> new figure decoded (median of 20)",
            "value": float(np.median(ms)), "unit": "ms", "target": "-"}
