"""Kernel-side latency of the lesson's widgets (compute + draw + PNG encode per event).

Slider values are set in code; the widget's observer runs synchronously inside the assignment,
so timing the assignment times the whole event handler. Run with ``make bench`` or
``python benchmarks/run.py widgets``.
"""

import time

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402

from lmmcourse import widgets  # noqa: E402


def _events():
    """A mixed sequence of slider moves, as a student drags each slider in turn."""
    seq = [("sigma2_u", v) for v in range(6, 61, 2)]
    seq += [("m", v) for v in range(5, 201, 7)]
    seq += [("sigma2_e", v) for v in range(25, 801, 25)]
    seq += [("m", v) for v in range(200, 1, -9)]
    seq += [("sigma2_u", v) for v in range(60, 301, 20)]
    return seq


def _time_events(w, events):
    times = []
    for name, value in events:
        t0 = time.perf_counter()
        w.sliders[name].value = value
        times.append(time.perf_counter() - t0)
    return 1e3 * np.asarray(times)


def bench_variance_explorer_event():
    w = widgets.variance_explorer(sigma2_u=5, sigma2_e=20, m=4)
    _time_events(w, _events()[:10])  # warm-up
    ms = _time_events(w, _events())
    return {"name": "variance_explorer: ms per slider event (median)",
            "value": float(np.median(ms)), "unit": "ms", "target": "<= 30"}


def bench_variance_explorer_event_p90():
    w = widgets.variance_explorer(sigma2_u=5, sigma2_e=20, m=4)
    _time_events(w, _events()[:10])
    ms = _time_events(w, _events())
    return {"name": "variance_explorer: ms per slider event (90th percentile)",
            "value": float(np.percentile(ms, 90)), "unit": "ms", "target": "-"}


def bench_variance_explorer_full_redraw():
    """The path taken when the y-range must change: a full figure draw (the old baseline)."""
    w = widgets.variance_explorer()
    ms = []
    for _ in range(8):
        w._background = None
        t0 = time.perf_counter()
        w.update()
        ms.append(1e3 * (time.perf_counter() - t0))
    return {"name": "variance_explorer: ms per full redraw (rare path)",
            "value": float(np.median(ms)), "unit": "ms", "target": "-"}


def bench_story_scene_change():
    s = widgets.story()
    ms = []
    for k in [2, 3, 4, 5, 6, 5, 4, 3, 2, 1]:
        t0 = time.perf_counter()
        s.go(k)
        ms.append(1e3 * (time.perf_counter() - t0))
    return {"name": "story: ms per Next/Back click (median)", "value": float(np.median(ms)),
            "unit": "ms", "target": "<= 300"}


def bench_glossary_keystroke():
    g = widgets.glossary()
    ms = []
    for q in ["r", "re", "rem", "reml", "rem", "re", "r", "", "b", "bl", "blu", "blup", "x"]:
        t0 = time.perf_counter()
        g.search.value = q
        ms.append(1e3 * (time.perf_counter() - t0))
    return {"name": "glossary: ms per keystroke (median)", "value": float(np.median(ms)),
            "unit": "ms", "target": "<= 30"}
