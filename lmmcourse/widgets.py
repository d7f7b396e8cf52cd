"""Interactive widgets for the lesson (ipywidgets + Matplotlib rendered to PNG).

Each public function returns one displayable widget that teaches one idea:

=============================  ===============================================================
:func:`variance_explorer`      sliders for sigma2_u, sigma2_e and m: variance partition (ICC),
                               shrinkage factor against m, simulated raw means vs BLUPs
:func:`story`                  six scenes, Back/Next: pooled line, classrooms revealed, random
                               intercepts, random slopes, partial pooling, summary
:func:`glossary`               the course glossary with a search box that filters as you type
:func:`glossary_entry`         one glossary definition as HTML (for any notebook)
:func:`caterpillar_switch`     caterpillar plot with a Dropdown to switch between fitted models
=============================  ===============================================================

The numbers behind each figure come from pure functions (:func:`variance_partition`,
:func:`cluster_draws`, :func:`shrunken_cluster_means`, :func:`fit_story`,
:func:`search_glossary`, :func:`load_glossary`) that are unit-tested without a front end.

Rendering
---------
Figures are ``matplotlib.figure.Figure`` objects with an Agg canvas (no pyplot state, nothing
leaks as an extra inline figure, ``plt.show()`` is never called). They are encoded as PNG (zlib
level 1) into an ``ipywidgets.Image``. The variance explorer updates its artists in place and
blits them onto a cached background; the full figure is redrawn only when the y-range of the
simulated-cluster panel has to change.

Static fallback
---------------
Every widget is a :class:`LessonWidget` (an ``ipywidgets.VBox``) whose ``_repr_mimebundle_`` adds
to the live widget view an ``image/png`` of its current state (``text/html`` for the glossary) and
an alt-text ``text/plain``. JupyterLab renders the live widget; nbconvert, nbviewer and GitHub,
which have no kernel, show the stored image. When the environment variable
``NBGRADER_EXECUTION`` is set (nbgrader autograding/validation), every widget function returns a
:class:`SkippedWidget` note instead, without any figure work.

Controls (for tests and browser tests)
--------------------------------------
Attributes and the CSS classes set with ``add_class``:

==========================  ===========================================  ==========================
widget                      attribute                                    CSS class
==========================  ===========================================  ==========================
all                         ``w.image`` (ipywidgets.Image)               ``lmm-figure``
all                         ``w.caption`` (HTML, alt-text-like caption)  ``lmm-caption``
variance_explorer           ``w.sliders["sigma2_u"]``                    ``lmm-slider-sigma2u``
variance_explorer           ``w.sliders["sigma2_e"]``                    ``lmm-slider-sigma2e``
variance_explorer           ``w.sliders["m"]``                           ``lmm-slider-m``
variance_explorer           ``w.readout`` (HBox of the two Labels)       ``lmm-readout``
variance_explorer           ``w.readouts["icc"]`` ("ICC = 0.20")         ``lmm-readout-icc``
variance_explorer           ``w.readouts["shrinkage"]``                  ``lmm-readout-shrinkage``
variance_explorer           ``w.artists`` (dict of Matplotlib artists)   -
story                       ``w.back_button`` / ``w.next_button``        ``lmm-story-back`` /
                                                                         ``lmm-story-next``
story                       ``w.counter`` (Label, "Scene k of 6")        ``lmm-story-counter``
story                       ``w.caption`` (HTML)                         ``lmm-story-caption``
story                       ``w.scene`` (int), ``w.go(k)``, ``w.artists``  -
glossary                    ``w.search`` (Text, continuous_update)       ``lmm-glossary-search``
glossary                    ``w.results`` (HTML)                         ``lmm-glossary-results``
glossary                    ``w.count`` (Label), ``w.matches`` (list)    ``lmm-glossary-count``
caterpillar_switch          ``w.dropdown`` (Dropdown)                    ``lmm-caterpillar-model``
==========================  ===========================================  ==========================

Every control has a ``description`` (``description_allow_html`` off); sliders work from the
keyboard; colours are Okabe-Ito and every colour distinction is repeated by marker shape or
line style.
"""

from __future__ import annotations

import base64
import difflib
import html
import json
import os
import re
import struct
import unicodedata
import warnings
import zlib
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources

import ipywidgets as W
import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure

from . import plots
from .stats import icc_from_components, shrinkage_factor

__all__ = [
    "LessonWidget",
    "SkippedWidget",
    "StoryFits",
    "caterpillar_switch",
    "cluster_draws",
    "fit_story",
    "glossary",
    "glossary_entry",
    "load_glossary",
    "search_glossary",
    "shrunken_cluster_means",
    "story",
    "variance_explorer",
    "variance_partition",
]

GRADING_ENV_VAR = "NBGRADER_EXECUTION"

#: Slider ranges of the variance explorer: (min, max, step).
SLIDER_RANGES = {"sigma2_u": (0, 300, 1), "sigma2_e": (1, 1000, 1), "m": (1, 200, 1)}


# ============================================================================================
# Shared machinery
# ============================================================================================
def _grading() -> bool:
    return bool(os.environ.get(GRADING_ENV_VAR))


class SkippedWidget:
    """Cheap stand-in returned while nbgrader executes a notebook.

    nbgrader sets ``NBGRADER_EXECUTION`` when it autogrades or validates; interactive figures are
    then pointless (and only cost time), so the widget functions return this note instead.
    """

    def __init__(self, name: str):
        self.name = name
        self.text = f"Interactive widget '{name}' skipped during grading."

    def __repr__(self) -> str:
        return self.text

    def _repr_mimebundle_(self, **kwargs):
        return {"text/plain": self.text, "text/html": f"<p><em>{html.escape(self.text)}</em></p>"}


class LessonWidget(W.VBox):
    """A VBox that also carries a static fallback of itself in its rich representation.

    ``_repr_mimebundle_`` returns the usual widget view plus ``image/png`` of ``self.image``
    (subclasses may override :meth:`_static_bundle`) and ``text/plain`` alt text
    (:meth:`alt_text`). Front ends with a live kernel show the widget; static viewers show the
    image.
    """

    image: W.Image | None = None

    def alt_text(self) -> str:
        """A sentence describing what the widget currently shows."""
        return type(self).__name__

    def _static_bundle(self) -> dict:
        if self.image is None or not self.image.value:
            return {}
        return {"image/png": base64.b64encode(bytes(self.image.value)).decode("ascii")}

    def _repr_mimebundle_(self, **kwargs):
        data = super()._repr_mimebundle_(**kwargs) or {}
        data.update(self._static_bundle())
        data["text/plain"] = self.alt_text()
        return data


def png_rgb(rgba) -> bytes:
    """Encode an RGBA pixel buffer (h, w, 4) as an RGB PNG quickly.

    The alpha channel is dropped (the figures are opaque), rows are stored unfiltered and the
    data are deflated at zlib level 1: for flat line-art figures this is faster than PIL's
    adaptive filtering and the file is hardly larger. Any PNG reader decodes it.
    """
    a = np.asarray(rgba)
    h, w = a.shape[:2]
    raw = np.empty((h, 1 + 3 * w), dtype=np.uint8)
    raw[:, 0] = 0  # filter type "None" for every row
    raw[:, 1:] = a[..., :3].reshape(h, 3 * w)

    def chunk(tag: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(tag + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)  # 8-bit RGB, no interlace
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(raw.tobytes(), 1)) + chunk(b"IEND", b""))


class _AggFigure:
    """A Matplotlib figure on an Agg canvas that renders to PNG bytes quickly."""

    def __init__(self, figsize, dpi=90, fig=None):
        self.fig = fig if fig is not None else Figure(figsize=figsize, dpi=dpi)
        self.canvas = FigureCanvasAgg(self.fig)

    def png_from_buffer(self) -> bytes:
        """Encode the canvas' current pixel buffer (no redraw) as PNG."""
        return png_rgb(self.canvas.buffer_rgba())

    def render(self) -> bytes:
        self.canvas.draw()
        return self.png_from_buffer()


def _image_widget() -> W.Image:
    img = W.Image(format="png", layout=W.Layout(max_width="100%", height="auto"))
    img.add_class("lmm-figure")
    return img


def _caption_widget(extra_class: str | None = None) -> W.HTML:
    cap = W.HTML(description="", description_allow_html=False)
    cap.add_class("lmm-caption")
    if extra_class:
        cap.add_class(extra_class)
    return cap


# ============================================================================================
# 1. Variance explorer
# ============================================================================================
def variance_partition(sigma2_u: float, sigma2_e: float) -> dict:
    r"""Split the total variance of a two-level random-intercept model.

    .. math:: \sigma^2_{total} = \sigma^2_u + \sigma^2_e, \qquad
              \rho = \frac{\sigma^2_u}{\sigma^2_u + \sigma^2_e}

    Parameters
    ----------
    sigma2_u : float
        Between-cluster variance (course text: :math:`\sigma^2_g`).
    sigma2_e : float
        Within-cluster variance (course text: :math:`\sigma^2`).

    Returns
    -------
    dict
        ``total``, ``icc`` (= share between) and ``share_within`` (= 1 - ICC).

    References
    ----------
    Dohoo, Martin & Stryhn (2012), section 21.2.
    """
    icc = float(icc_from_components(sigma2_u, sigma2_e))
    return {"total": float(sigma2_u) + float(sigma2_e), "icc": icc, "share_within": 1.0 - icc}


def cluster_draws(n_clusters: int = 8, seed: int = 2024) -> tuple[np.ndarray, np.ndarray]:
    """Fixed standard-normal draws behind the simulated clusters of the explorer.

    Parameters
    ----------
    n_clusters : int
    seed : int
        Seed for :func:`numpy.random.default_rng`.

    Returns
    -------
    a, b : ndarray
        ``a[j]`` scales to cluster ``j``'s random intercept, ``b[j]`` to the sampling error of
        its mean. Keeping them fixed makes the picture move smoothly with the sliders.
    """
    z = np.random.default_rng(seed).standard_normal((2, int(n_clusters)))
    return z[0], z[1]


def shrunken_cluster_means(sigma2_u: float, sigma2_e: float, m: int, draws) -> dict:
    r"""Raw means and BLUP-based estimates of simulated clusters of equal size ``m``.

    With fixed standard-normal draws :math:`a_j, b_j` (:func:`cluster_draws`) the raw mean of
    cluster :math:`j` is :math:`\bar y_j = \sigma_u a_j + (\sigma_e/\sqrt m)\, b_j`
    (population mean 0), which has exactly the sampling distribution
    :math:`N(0, \sigma^2_u + \sigma^2_e/m)`. With equal cluster sizes and known variance
    components the GLS estimate of the mean is the mean of the raw means, :math:`\hat\mu`, and
    the BLUP-based estimate is

    .. math:: \hat\mu + R\,(\bar y_j - \hat\mu), \qquad
              R = \frac{\sigma^2_u}{\sigma^2_u + \sigma^2_e/m}.

    Parameters
    ----------
    sigma2_u, sigma2_e : float
        Variance components (non-negative).
    m : int
        Cluster size (at least 1).
    draws : (ndarray, ndarray)
        ``(a, b)`` from :func:`cluster_draws`.

    Returns
    -------
    dict
        ``raw`` and ``estimate`` (arrays), ``grand_mean`` and ``shrinkage`` (floats).

    References
    ----------
    Robinson, G. K. (1991). That BLUP is a good thing. *Statistical Science* 6:15-32;
    Dohoo, Martin & Stryhn (2012), section 21.5.
    """
    a, b = (np.asarray(d, dtype=float) for d in draws)
    r = float(shrinkage_factor(sigma2_u, sigma2_e, m))
    raw = np.sqrt(float(sigma2_u)) * a + np.sqrt(float(sigma2_e) / float(m)) * b
    grand = float(raw.mean())
    return {"raw": raw, "estimate": grand + r * (raw - grand), "grand_mean": grand,
            "shrinkage": r}


_NICE = np.array([1.0, 1.5, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0])


def _nice_ceil(x: float) -> float:
    """Smallest value of the form {1, 1.5, 2, 3, 4, 5, 6, 8} x 10^k that is >= x."""
    if not x > 0:
        return 1.0
    e = 10.0 ** np.floor(np.log10(x))
    return float(_NICE[np.searchsorted(_NICE, x / e - 1e-12)] * e)


def _slider(name, value, description):
    lo, hi, step = SLIDER_RANGES[name]
    s = W.IntSlider(value=value, min=lo, max=hi, step=step, description=description,
                    description_allow_html=False, continuous_update=True,
                    style={"description_width": "initial"}, layout=W.Layout(width="460px"))
    s.add_class("lmm-slider-" + name.replace("_", ""))
    return s


def _check_int(name, value):
    lo, hi, _ = SLIDER_RANGES[name]
    if isinstance(value, bool) or not float(value).is_integer() or not lo <= value <= hi:
        raise ValueError(
            f"{name}={value!r} is outside the slider range: use a whole number from {lo} to {hi}."
        )
    return int(value)


class VarianceExplorer(LessonWidget):
    """Widget behind :func:`variance_explorer` (see the module docstring for its API)."""

    #: Which panel each animated artist belongs to.
    _PANEL = {
        "bar_between": "partition", "bar_within": "partition", "text_icc": "partition",
        "curve": "shrinkage", "m_line": "shrinkage", "marker": "shrinkage",
        "text_r": "shrinkage",
        "segments": "clusters", "raw": "clusters", "estimate": "clusters",
        "grand_mean": "clusters",
    }

    def __init__(self, sigma2_u=5, sigma2_e=20, m=4, *, n_clusters=8, seed=2024):
        sigma2_u = _check_int("sigma2_u", sigma2_u)
        sigma2_e = _check_int("sigma2_e", sigma2_e)
        m = _check_int("m", m)
        self.draws = cluster_draws(n_clusters, seed)
        self._cz = 1.1 * float(np.max(np.hypot(*self.draws)))  # bound on |raw| / sd(raw)
        self.sliders = {
            "sigma2_u": _slider("sigma2_u", sigma2_u, "σ²g (sigma2_u): between-group variance"),
            "sigma2_e": _slider("sigma2_e", sigma2_e, "σ² (sigma2_e): within-group variance"),
            "m": _slider("m", m, "m: cluster size (observations per cluster)"),
        }
        self.readouts = {"icc": W.Label(), "shrinkage": W.Label()}
        self.readouts["icc"].add_class("lmm-readout-icc")
        self.readouts["shrinkage"].add_class("lmm-readout-shrinkage")
        for lab in self.readouts.values():
            lab.layout = W.Layout(margin="0 16px 0 0")
        self.readout = W.HBox([self.readouts["icc"], self.readouts["shrinkage"]])
        self.readout.add_class("lmm-readout")
        self.image = _image_widget()
        self.caption = _caption_widget()
        self.state: dict = {}
        self.full_redraws = 0  # how many events needed a full figure draw (for the benchmark)
        self._build_figure()
        self.update()
        super().__init__([*self.sliders.values(), self.readout, self.image, self.caption])
        self.add_class("lmm-variance-explorer")
        for s in self.sliders.values():
            s.observe(self._on_change, names="value")

    # -- figure --------------------------------------------------------------------------
    def _build_figure(self):
        self.figure = _AggFigure(figsize=(10.6, 3.5), dpi=90)
        fig = self.figure.fig
        ax_a, ax_b, ax_c = fig.subplots(1, 3, gridspec_kw={"width_ratios": [0.8, 1.25, 1.0]})
        self.axes = {"partition": ax_a, "shrinkage": ax_b, "clusters": ax_c}
        blue, orange, _green, verm = plots.palette(4)
        art = {}

        # (a) variance partition: one stacked bar of shares, ICC above it
        art["bar_between"] = ax_a.bar(0, 0.5, width=0.6, color=blue, hatch="//",
                                      edgecolor="k", label="between\nclusters (σ²g)")[0]
        art["bar_within"] = ax_a.bar(0, 0.5, width=0.6, bottom=0.5, color=orange,
                                     edgecolor="k", label="within\nclusters (σ²)")[0]
        art["text_icc"] = ax_a.text(0.5, 1.02, "", transform=ax_a.transAxes, ha="center",
                                    va="bottom", fontsize=10, fontweight="bold")
        ax_a.set_xlim(-0.4, 1.5)
        ax_a.set_ylim(0, 1)
        ax_a.set_xticks([])
        ax_a.set_yticks(np.linspace(0, 1, 6), [f"{v:.0%}" for v in np.linspace(0, 1, 6)])
        ax_a.set_ylabel("share of total variance (%)")
        ax_a.set_title("(a) Variance partition", pad=18, fontsize=10)
        ax_a.legend(loc="center left", bbox_to_anchor=(0.36, 0.5), fontsize=8, frameon=False,
                    handlelength=1.2)

        # (b) shrinkage factor against m
        self._m_grid = np.arange(1, SLIDER_RANGES["m"][1] + 1)
        art["curve"] = ax_b.plot(self._m_grid, np.zeros(self._m_grid.size), color=blue,
                                 label="R = σ²g / (σ²g + σ²/m)")[0]
        art["m_line"] = ax_b.plot([1, 1], [0, 0], color="0.3", linestyle=":")[0]
        art["marker"] = ax_b.plot([1], [0], linestyle="none", marker="o", markersize=9,
                                  color=verm, markeredgecolor="k", label="current m")[0]
        art["text_r"] = ax_b.text(1, 0, "", fontsize=9, ha="left", va="top", clip_on=True)
        ax_b.set_xscale("log")
        ax_b.set_xlim(0.9, SLIDER_RANGES["m"][1] * 1.1)
        ax_b.set_ylim(0, 1.05)
        ticks = [1, 2, 4, 10, 20, 50, 100, 200]
        ax_b.set_xticks(ticks, [str(t) for t in ticks])
        ax_b.minorticks_off()
        ax_b.set_xlabel("cluster size m (observations per cluster, log scale)")
        ax_b.set_ylabel("shrinkage factor R (unitless, 0-1)")
        ax_b.set_title("(b) Shrinkage factor", fontsize=10)
        ax_b.grid(alpha=0.3)
        ax_b.legend(loc="lower right", fontsize=8, frameon=False)

        # (c) simulated clusters: raw means vs BLUP-based estimates
        n = self.draws[0].size
        art["segments"] = LineCollection(np.zeros((n, 2, 2)), colors="0.55", linewidths=0.9)
        ax_c.add_collection(art["segments"])
        art["raw"] = ax_c.plot(np.zeros(n), np.zeros(n), linestyle="none", marker="o",
                               markersize=7, color=orange, markeredgecolor="k",
                               label="raw cluster mean")[0]
        art["estimate"] = ax_c.plot(np.ones(n), np.zeros(n), linestyle="none", marker="D",
                                    markersize=6, color=blue, markeredgecolor="k",
                                    label="BLUP estimate")[0]
        art["grand_mean"] = ax_c.plot([-0.4, 1.4], [0, 0], color="0.2", linestyle="--",
                                      linewidth=1, label="grand mean")[0]
        ax_c.set_xlim(-0.4, 1.4)
        ax_c.set_xticks([0, 1], ["raw mean (○)", "BLUP estimate (◇)"])
        ax_c.set_ylabel("cluster mean (outcome units)")
        ax_c.set_title(f"(c) {n} simulated clusters (true mean 0)", fontsize=10)
        ax_c.legend(handles=[art["grand_mean"]], loc="upper right", fontsize=8, frameon=False)
        for a in art.values():
            a.set_animated(True)
        self.artists = art
        fig.subplots_adjust(left=0.07, right=0.99, bottom=0.17, top=0.86, wspace=0.3)
        self._background = None
        self._strips = None
        self._ylim = None

    def _full_draw(self):
        """Draw the static parts, cache them and the panel strips' pixel ranges."""
        canvas = self.figure.canvas
        canvas.draw()  # animated artists are skipped
        self._background = canvas.copy_from_bbox(self.figure.fig.bbox)
        a, b, c = (self.axes[k].get_window_extent() for k in ("partition", "shrinkage",
                                                               "clusters"))
        height = self.figure.fig.bbox.height
        xs = [0.0, (a.x1 + b.x0) / 2, (b.x1 + c.x0) / 2, self.figure.fig.bbox.width]
        self._strips = {k: [xs[i], 0.0, xs[i + 1], height]
                        for i, k in enumerate(("partition", "shrinkage", "clusters"))}
        self.full_redraws += 1

    def _blit(self, panels) -> bytes:
        """Restore the changed panels' background strips and redraw only their artists."""
        canvas = self.figure.canvas
        for p in panels:
            canvas.restore_region(self._background, bbox=self._strips[p], xy=(0, 0))
        for name, a in self.artists.items():
            if self._PANEL[name] in panels:
                self.figure.fig.draw_artist(a)
        return self.figure.png_from_buffer()

    # -- update ---------------------------------------------------------------------------
    def _on_change(self, change):
        self.update()

    def update(self):
        """Recompute from the slider values, move the changed artists and re-render."""
        su = self.sliders["sigma2_u"].value
        se = self.sliders["sigma2_e"].value
        m = self.sliders["m"].value
        old = self.state
        part = variance_partition(su, se)
        clus = shrunken_cluster_means(su, se, m, self.draws)
        r = clus["shrinkage"]
        icc = part["icc"]
        self.state = {"sigma2_u": su, "sigma2_e": se, "m": m, "icc": icc, "shrinkage": r,
                      **{k: clus[k] for k in ("raw", "estimate", "grand_mean")}}
        art = self.artists
        variances_changed = not old or (old["sigma2_u"], old["sigma2_e"]) != (su, se)
        panels = {"shrinkage", "clusters"}

        if variances_changed:
            panels.add("partition")
            art["bar_between"].set_height(icc)
            art["bar_within"].set_y(icc)
            art["bar_within"].set_height(1.0 - icc)
            art["text_icc"].set_text(f"ICC = {su:g}/{part['total']:g} = {icc:.2f}")
            art["curve"].set_ydata(shrinkage_factor(su, se, self._m_grid))
        art["marker"].set_data([m], [r])
        art["m_line"].set_data([m, m], [0, r])
        right = m <= 40  # label right of the marker, or left of it near the right edge
        art["text_r"].set_position((m * 1.1 if right else m / 1.1, max(r - 0.04, 0.1)))
        art["text_r"].set_horizontalalignment("left" if right else "right")
        art["text_r"].set_text(f"m = {m}: R = {r:.2f}")

        raw, est = clus["raw"], clus["estimate"]
        art["raw"].set_ydata(raw)
        art["estimate"].set_ydata(est)
        seg = np.empty((raw.size, 2, 2))
        seg[:, 0, 0], seg[:, 0, 1], seg[:, 1, 0], seg[:, 1, 1] = 0.0, raw, 1.0, est
        art["segments"].set_segments(seg)
        art["grand_mean"].set_ydata([clus["grand_mean"]] * 2)
        lim = _nice_ceil(self._cz * np.sqrt(su + se / m))
        if lim != self._ylim or self._background is None:
            self._ylim = lim
            self.axes["clusters"].set_ylim(-lim, lim)
            self._full_draw()
            panels = set(self._strips)
        png = self._blit(panels)

        self.readouts["icc"].value = f"ICC = {icc:.2f}"
        self.readouts["shrinkage"].value = f"Shrinkage factor at m = {m}: {r:.2f}"
        self.caption.value = html.escape(self.alt_text())
        self.image.value = png

    def alt_text(self) -> str:
        s = self.state
        return (
            f"Figure: between-group variance {s['sigma2_u']:g} and within-group variance "
            f"{s['sigma2_e']:g}, so the ICC is {s['icc']:.2f} (panel a). For clusters of "
            f"m = {s['m']} observations the shrinkage factor is {s['shrinkage']:.2f} (panel b): "
            f"each BLUP keeps {s['shrinkage']:.0%} of its cluster's distance from the grand mean, "
            f"as the simulated clusters in panel c show."
        )


def variance_explorer(sigma2_u: int = 5, sigma2_e: int = 20, m: int = 4, *,
                      n_clusters: int = 8, seed: int = 2024):
    r"""Sliders for :math:`\sigma^2_u`, :math:`\sigma^2_e` and :math:`m` driving three panels.

    (a) the variance partition and ICC :math:`\sigma^2_u/(\sigma^2_u + \sigma^2_e)`;
    (b) the shrinkage factor :math:`R = \sigma^2_u/(\sigma^2_u + \sigma^2_e/m)` against
    :math:`m` with the current :math:`m` marked; (c) simulated clusters' raw means and BLUP
    estimates (:func:`shrunken_cluster_means`). The lesson's worked numbers are reachable:
    5/(5 + 20/100) = 0.96, 5/(5 + 20/4) = 0.50, 3/(3 + 12) = 0.20, 200/(200 + 800) = 0.20.

    Parameters
    ----------
    sigma2_u : int
        Initial between-group variance (course text: :math:`\sigma^2_g`), 0-300.
    sigma2_e : int
        Initial within-group variance, 1-1000.
    m : int
        Initial cluster size, 1-200.
    n_clusters : int
        Number of simulated clusters in panel (c).
    seed : int
        Seed of the fixed standard-normal draws of panel (c).

    Returns
    -------
    VarianceExplorer
        A :class:`LessonWidget`; a :class:`SkippedWidget` under nbgrader.

    References
    ----------
    Dohoo, Martin & Stryhn (2012), sections 21.2 and 21.5.
    """
    if _grading():
        return SkippedWidget("variance_explorer")
    return VarianceExplorer(sigma2_u, sigma2_e, m, n_clusters=n_clusters, seed=seed)


# ============================================================================================
# 2. Story: pooled line -> classrooms -> random intercepts -> random slopes -> partial pooling
# ============================================================================================
@dataclass
class StoryFits:
    """Everything the story draws, fitted once (see :func:`fit_story`)."""

    data: pd.DataFrame
    classrooms: list[str]
    pooled: tuple[float, float]  # (intercept, slope) of OLS score ~ hours
    no_pooling: pd.DataFrame  # per classroom: n, intercept, slope, hours_min, hours_max
    intercepts: pd.DataFrame  # random-intercept model: per classroom intercept, slope
    slopes: pd.DataFrame  # random-slope model: per classroom intercept, slope
    fixed_intercepts: tuple[float, float]  # (b0, b1) of the random-intercept model
    fixed_slopes: tuple[float, float]  # (b0, b1) of the random-slope model
    sd_intercept: float  # SD of random intercepts (random-intercept model)
    sd_slope: float  # SD of random slopes (random-slope model)
    sigma_e: float  # residual SD of the random-slope model
    converged: bool
    warnings: list[str] = field(default_factory=list)


def fit_story(data: pd.DataFrame) -> StoryFits:
    r"""Fit the story's models to the classrooms data, once.

    * complete pooling: OLS ``score ~ hours`` ignoring classrooms;
    * no pooling: a separate OLS line in every classroom;
    * random intercepts: MixedLM (REML) ``score ~ hours + (1 | classroom)``;
    * random slopes: MixedLM (REML) ``score ~ hours + (1 + hours | classroom)``.

    Classroom lines of the mixed models are fixed effects plus BLUPs:
    :math:`(\hat\beta_0 + \hat u_{0j}) + (\hat\beta_1 + \hat u_{1j})\,x`.

    Parameters
    ----------
    data : pandas.DataFrame
        Columns ``classroom``, ``hours``, ``score`` (:func:`lmmcourse.data.load_classrooms`).

    Returns
    -------
    StoryFits

    References
    ----------
    Gelman, A. & Hill, J. (2007). *Data Analysis Using Regression and Multilevel/Hierarchical
    Models*, ch. 12-13.
    """
    import statsmodels.formula.api as smf

    need = {"classroom", "hours", "score"}
    if not need <= set(data.columns):
        raise ValueError(f"the story needs columns {sorted(need)}, got {list(data.columns)}")
    df = data.copy()
    df["classroom"] = df["classroom"].astype(str)
    rooms = sorted(df["classroom"].unique())
    ols = smf.ols("score ~ hours", df).fit()
    pooled = (float(ols.params["Intercept"]), float(ols.params["hours"]))

    rows = []
    for g in rooms:
        d = df[df["classroom"] == g]
        slope, icpt = np.polyfit(d["hours"], d["score"], 1)
        rows.append({"classroom": g, "n": len(d), "intercept": icpt, "slope": slope,
                     "hours_min": d["hours"].min(), "hours_max": d["hours"].max(),
                     "mean_hours": d["hours"].mean(), "mean_score": d["score"].mean()})
    nop = pd.DataFrame(rows).set_index("classroom")

    caught = []
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        ri = smf.mixedlm("score ~ hours", df, groups=df["classroom"]).fit(reml=True)
        rs = smf.mixedlm("score ~ hours", df, groups=df["classroom"],
                         re_formula="~hours").fit(reml=True)
        caught = [str(w.message) for w in rec]

    def lines(res, slope_re):
        b0, b1 = float(res.fe_params["Intercept"]), float(res.fe_params["hours"])
        out = {}
        for g in rooms:
            re = res.random_effects[g]
            u0 = float(re.iloc[0])
            u1 = float(re["hours"]) if slope_re else 0.0
            out[g] = {"intercept": b0 + u0, "slope": b1 + u1}
        return pd.DataFrame(out).T.rename_axis("classroom"), (b0, b1)

    ri_lines, ri_fe = lines(ri, False)
    rs_lines, rs_fe = lines(rs, True)
    return StoryFits(
        data=df, classrooms=rooms, pooled=pooled, no_pooling=nop, intercepts=ri_lines,
        slopes=rs_lines, fixed_intercepts=ri_fe, fixed_slopes=rs_fe,
        sd_intercept=float(np.sqrt(ri.cov_re.iloc[0, 0])),
        sd_slope=float(np.sqrt(rs.cov_re.loc["hours", "hours"])),
        sigma_e=float(np.sqrt(rs.scale)), converged=bool(ri.converged and rs.converged),
        warnings=caught,
    )


N_SCENES = 6
_SCENE_TITLES = (
    "One line for everyone",
    "The reveal: five classrooms",
    "Random intercepts",
    "Random slopes",
    "Partial pooling",
    "Summary",
)


class Story(LessonWidget):
    """Widget behind :func:`story` (see the module docstring for its API)."""

    def __init__(self, data: pd.DataFrame | None = None):
        if data is None:
            from .data import load_classrooms

            data = load_classrooms()
        self.fits = fit_story(data)
        self.figure = _AggFigure(figsize=(7.6, 4.6), dpi=90)
        self.image = _image_widget()
        self.back_button = W.Button(description="◀ Back", tooltip="previous scene",
                                    layout=W.Layout(width="110px"))
        self.next_button = W.Button(description="Next ▶", tooltip="next scene",
                                    button_style="primary", layout=W.Layout(width="110px"))
        self.back_button.add_class("lmm-story-back")
        self.next_button.add_class("lmm-story-next")
        self.counter = W.Label()
        self.counter.add_class("lmm-story-counter")
        self.caption = _caption_widget("lmm-story-caption")
        self.artists: dict = {}
        self.scene = 1
        self.back_button.on_click(lambda _b: self.go(self.scene - 1))
        self.next_button.on_click(lambda _b: self.go(self.scene + 1))
        nav = W.HBox([self.back_button, self.counter, self.next_button],
                     layout=W.Layout(align_items="center", justify_content="flex-start"))
        self.counter.layout = W.Layout(margin="0 12px")
        super().__init__([nav, self.image, self.caption])
        self.add_class("lmm-story")
        self.go(1)

    # -- navigation -----------------------------------------------------------------------
    def go(self, k: int):
        """Show scene ``k`` (clipped to 1-6)."""
        self.scene = int(min(max(k, 1), N_SCENES))
        self.back_button.disabled = self.scene == 1
        self.next_button.disabled = self.scene == N_SCENES
        self.counter.value = f"Scene {self.scene} of {N_SCENES}: {_SCENE_TITLES[self.scene - 1]}"
        self._draw_scene()
        self.caption.value = html.escape(self.caption_text())
        self.image.value = self.figure.render()

    # -- drawing --------------------------------------------------------------------------
    def _style(self):
        cols = plots.palette(len(self.fits.classrooms))
        return {g: (cols[i], plots.MARKERS[i], plots.LINESTYLES[i])
                for i, g in enumerate(self.fits.classrooms)}

    def _scatter(self, ax, coloured: bool, alpha=0.85):
        f = self.fits
        if not coloured:
            ax.plot(f.data["hours"], f.data["score"], "o", color="0.35", markersize=5,
                    alpha=alpha, label=f"pupils (n = {len(f.data)})")
            return
        for g, (c, mk, _ls) in self._style().items():
            d = f.data[f.data["classroom"] == g]
            ax.plot(d["hours"], d["score"], mk, color=c, markersize=5.5, alpha=alpha,
                    markeredgecolor="k", markeredgewidth=0.4,
                    label=f"classroom {g} (n = {len(d)})")

    def _classroom_lines(self, ax, table):
        out = {}
        for g, (c, _mk, ls) in self._style().items():
            lo, hi = self.fits.no_pooling.loc[g, ["hours_min", "hours_max"]]
            xs = np.array([lo, hi])
            b0, b1 = table.loc[g, "intercept"], table.loc[g, "slope"]
            out[g] = ax.plot(xs, b0 + b1 * xs, color=c, linestyle=ls, linewidth=2.2)[0]
        return out

    def _pooled_line(self, ax, **kw):
        f = self.fits
        xs = np.array([f.data["hours"].min(), f.data["hours"].max()])
        b0, b1 = f.pooled
        style = {"color": "k", "linewidth": 2.2, "linestyle": "-"} | kw
        return ax.plot(xs, b0 + b1 * xs, label=f"one pooled line (slope {b1:.2f})", **style)[0]

    def _draw_scene(self):
        fig = self.figure.fig
        fig.clear()
        ax = fig.add_subplot(1, 1, 1)
        self.axes = ax
        k = self.scene
        art = {}
        if k in (1, 2, 3, 4, 6):
            self._scatter(ax, coloured=k > 1, alpha=0.85 if k < 3 else 0.45)
            if k in (1, 2):
                art["pooled"] = self._pooled_line(ax, **({} if k == 1 else {"linestyle": ":"}))
            elif k == 3:
                art["lines"] = self._classroom_lines(ax, self.fits.intercepts)
            elif k == 4:
                art["lines"] = self._classroom_lines(ax, self.fits.slopes)
            else:
                art["lines"] = self._classroom_lines(ax, self.fits.slopes)
                art["pooled"] = self._pooled_line(ax, color="0.4", linestyle=":")
            ax.set_xlabel("study time (hours per week)")
            ax.set_ylabel("test score (points)")
            ax.legend(loc="best", fontsize=8, frameon=False)
        else:
            art.update(self._draw_pooling(ax))
        ax.set_title(f"Scene {k}: {_SCENE_TITLES[k - 1]}", fontsize=11)
        ax.grid(alpha=0.3)
        fig.tight_layout()
        self.artists = art

    def _draw_pooling(self, ax):
        f = self.fits
        rooms = f.classrooms
        y = np.arange(len(rooms))[::-1]
        nop = f.no_pooling.loc[rooms, "slope"].to_numpy(float)
        mix = f.slopes.loc[rooms, "slope"].to_numpy(float)
        blue, orange, green = plots.palette(3)
        arrows = []
        for yi, a, b in zip(y, nop, mix, strict=True):
            arrows.append(ax.annotate("", xy=(b, yi), xytext=(a, yi),
                                      arrowprops={"arrowstyle": "->", "color": "0.3",
                                                  "linewidth": 1.3, "shrinkA": 4,
                                                  "shrinkB": 4}))
        no_line = ax.plot(nop, y, "o", color=orange, markersize=9, markeredgecolor="k",
                          label="no pooling: own OLS slope", linestyle="none")[0]
        mix_line = ax.plot(mix, y, "D", color=blue, markersize=8, markeredgecolor="k",
                           label="partial pooling: mixed-model slope", linestyle="none")[0]
        avg = ax.axvline(f.fixed_slopes[1], color=blue, linestyle="--", linewidth=1.2,
                         label=f"mixed-model average slope ({f.fixed_slopes[1]:.2f})")
        comp = ax.axvline(f.pooled[1], color="k", linestyle=":", linewidth=1.8,
                          label=f"complete pooling: one line ({f.pooled[1]:.2f})")
        n = f.no_pooling.loc[rooms, "n"].to_numpy(int)
        ax.set_yticks(y, [f"{g} (n = {k})" for g, k in zip(rooms, n, strict=True)])
        ax.set_ylabel("classroom")
        ax.set_xlabel("slope (points per extra weekly study hour)")
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2, fontsize=8,
                  frameon=False)
        ax.set_ylim(-0.7, len(rooms) - 0.3)
        return {"no_pooling": no_line, "mixed": mix_line, "average": avg,
                "complete_pooling": comp, "arrows": arrows}

    # -- text -----------------------------------------------------------------------------
    def pull(self) -> pd.Series:
        """Absolute pull of each classroom's slope, |no-pooling - mixed model|."""
        f = self.fits
        return (f.no_pooling["slope"] - f.slopes["slope"]).abs().loc[f.classrooms]

    def caption_text(self, k: int | None = None) -> str:
        """The caption of scene ``k`` (default: the current scene), numbers from the fits."""
        f = self.fits
        k = self.scene if k is None else k
        n_all = len(f.data)
        b1 = f.pooled[1]
        sl = f.slopes["slope"]
        if k == 1:
            return (
                f"One straight line through all {n_all} pupils, ignoring which classroom each "
                f"sits in. Its slope is {b1:.2f} points per weekly study hour, as if studying "
                "more did not help or even hurt."
            )
        if k == 2:
            return (
                "The same pupils, now told apart by classroom: each classroom has its own colour "
                "and its own marker shape. Within every classroom the points rise from left to "
                "right; it is the classrooms that study most that score lowest overall, and the "
                "single line blended the two patterns."
            )
        if k == 3:
            return (
                "Random intercepts: every classroom gets its own starting height, drawn from a "
                "normal distribution around the average, while all share one slope "
                f"({f.fixed_intercepts[1]:.2f} points per hour), so the lines are parallel. "
                f"The classroom heights vary with SD {f.sd_intercept:.1f} points."
            )
        if k == 4:
            return (
                "Random slopes: each classroom now also gets its own slope, so the lines fan "
                f"out. The slopes run from {sl.min():.2f} to {sl.max():.2f} points per hour "
                f"around an average of {f.fixed_slopes[1]:.2f} (SD between classrooms "
                f"{f.sd_slope:.2f})."
            )
        if k == 5:
            p = self.pull()
            g = p.idxmax()
            return (
                "Partial pooling of the slopes. Circles are each classroom's own least-squares "
                "slope (no pooling), diamonds the mixed model's slope; the arrows show how far "
                "each moves, overall toward the average slope (dashed line). The dotted line is "
                f"the one pooled line of scene 1 (complete pooling). Classroom {g}, with only "
                f"{int(f.no_pooling.loc[g, 'n'])} pupils, moves most: from "
                f"{f.no_pooling.loc[g, 'slope']:.2f} to {f.slopes.loc[g, 'slope']:.2f}."
            )
        return (
            f"Summary: the pooled line says {b1:.2f} points per hour, but inside classrooms "
            f"scores rise by {f.fixed_slopes[1]:.2f} points per hour on average. A mixed model "
            "gives each classroom its own intercept and slope, treats them as draws from one "
            "distribution, and lets small classrooms borrow strength from the others."
        )

    def alt_text(self) -> str:
        return f"Scene {self.scene} of {N_SCENES}: {self.caption_text()}"


def story(data: pd.DataFrame | None = None):
    """Six-scene interactive story of random intercepts, random slopes and partial pooling.

    The models are fitted once, when the widget is built (:func:`fit_story`); Back/Next only
    redraw. Back is disabled at scene 1 and Next at scene 6.

    Parameters
    ----------
    data : pandas.DataFrame, optional
        Classrooms data; :func:`lmmcourse.data.load_classrooms` by default.

    Returns
    -------
    Story
        A :class:`LessonWidget`; a :class:`SkippedWidget` under nbgrader.
    """
    if _grading():
        return SkippedWidget("story")
    return Story(data)


# ============================================================================================
# 3. Glossary
# ============================================================================================
_DASHES = str.maketrans({c: "-" for c in "‐‑‒–—−"})
CATEGORIES = ("concept", "method", "person")


def _norm(s: str) -> str:
    s = unicodedata.normalize("NFKD", str(s))
    s = "".join(ch for ch in s if not unicodedata.combining(ch))
    return " ".join(s.translate(_DASHES).casefold().split())


@lru_cache(maxsize=1)
def _glossary_cached() -> tuple:
    text = resources.files("lmmcourse").joinpath("glossary.json").read_text(encoding="utf-8")
    entries = json.loads(text)
    for i, e in enumerate(entries):
        if set(e) != {"term", "category", "text"} or e["category"] not in CATEGORIES:
            raise ValueError(
                f"glossary.json entry {i} ({e.get('term')!r}) must have exactly the keys term, "
                f"category, text, with category one of {CATEGORIES}"
            )
    return tuple(entries)


def load_glossary() -> list[dict]:
    """The glossary entries, in course order.

    Returns
    -------
    list of dict
        Each ``{"term", "category", "text"}``; category is "concept", "method" or "person".
    """
    return [dict(e) for e in _glossary_cached()]


def search_glossary(query: str) -> list[dict]:
    """Entries whose term or text contains every word of ``query``.

    Matching ignores case, accents and the kind of dash; entries whose term matches come first,
    otherwise the course order is kept. An empty query returns every entry.

    Parameters
    ----------
    query : str

    Returns
    -------
    list of dict
    """
    words = _norm(query).split()
    entries = load_glossary()
    if not words:
        return entries
    in_term, in_text = [], []
    for e in entries:
        term, text = _norm(e["term"]), _norm(e["text"])
        if all(w in term for w in words):
            in_term.append(e)
        elif all(w in term + " " + text for w in words):
            in_text.append(e)
    return in_term + in_text


def _entry_keys(e: dict) -> set[str]:
    term = e["term"]
    keys = {_norm(term)}
    bare = re.sub(r"\s*\([^)]*\)", "", term).strip()
    keys.add(_norm(bare))
    keys.update(_norm(a) for a in re.findall(r"\(([A-Z]{2,})\)", term))
    for part in re.split(r"\s+/\s+|\s+&\s+", bare):
        keys.add(_norm(part))
        if e["category"] == "person":
            keys.add(_norm(part.split()[-1]))
    keys.discard("")
    return keys


def _entry_html(e: dict, heading: str = "strong") -> str:
    return (
        f'<div class="lmm-glossary-entry"><{heading}>{html.escape(e["term"])}</{heading}> '
        f'<span style="opacity:0.7">({html.escape(e["category"])})</span>'
        f'<div>{html.escape(e["text"])}</div></div>'
    )


def glossary_entry(term: str):
    """One glossary definition as HTML, for any notebook cell.

    ``term`` may be the full term, the term without its bracketed part, its abbreviation
    (``"REML"``, ``"BLUP"``) or, for people, a surname; case and accents are ignored.

    Parameters
    ----------
    term : str

    Returns
    -------
    IPython.display.HTML

    Raises
    ------
    KeyError
        If no entry matches; the message lists close matches (difflib).
    """
    from IPython.display import HTML

    want = _norm(term)
    index = {}
    for e in load_glossary():
        for k in _entry_keys(e):
            index.setdefault(k, e)
    if want in index:
        return HTML(_entry_html(index[want]))
    close = difflib.get_close_matches(want, list(index), n=5, cutoff=0.5)
    terms = list(dict.fromkeys(index[c]["term"] for c in close))
    hint = f"close matches: {terms}" if terms else "no close match"
    raise KeyError(
        f"no glossary entry for {term!r} ({hint}); use search_glossary({term!r}) to search the "
        "definitions too"
    )


class Glossary(LessonWidget):
    """Widget behind :func:`glossary` (see the module docstring for its API)."""

    def __init__(self):
        self.entries = load_glossary()
        self.search = W.Text(value="", placeholder="type to filter, e.g. REML",
                             description="Search the glossary:", description_allow_html=False,
                             continuous_update=True, style={"description_width": "initial"},
                             layout=W.Layout(width="460px"))
        self.search.add_class("lmm-glossary-search")
        self.count = W.Label()
        self.count.add_class("lmm-glossary-count")
        self.results = W.HTML()
        self.results.add_class("lmm-glossary-results")
        self.matches: list[dict] = []
        self.search.observe(lambda _c: self.update(), names="value")
        self.update()
        super().__init__([self.search, self.count, self.results])
        self.add_class("lmm-glossary")

    def update(self):
        q = self.search.value
        self.matches = search_glossary(q)
        n, total = len(self.matches), len(self.entries)
        self.count.value = f"Showing {n} of {total} entries"
        if n == 0:
            self.results.value = (
                f"<p><em>No entry matches “{html.escape(q.strip())}”. Try a shorter or "
                "different word.</em></p>"
            )
        else:
            self.results.value = _glossary_html(self.matches)

    def alt_text(self) -> str:
        return f"Glossary of {len(self.entries)} terms with a search box."

    def _static_bundle(self) -> dict:
        return {"text/html": "<h4>Glossary</h4>" + _glossary_html(self.entries)}


def _glossary_html(entries) -> str:
    parts = []
    for cat, title in zip(CATEGORIES, ("Concepts", "Methods", "People"), strict=True):
        es = [e for e in entries if e["category"] == cat]
        if es:
            parts.append(f"<h5>{title}</h5>" + "".join(_entry_html(e) for e in es))
    return "".join(parts)


def glossary():
    """The course glossary with a search box that filters as you type.

    Returns
    -------
    Glossary
        A :class:`LessonWidget` whose static fallback is the full glossary as HTML; a
        :class:`SkippedWidget` under nbgrader.
    """
    if _grading():
        return SkippedWidget("glossary")
    return Glossary()


# ============================================================================================
# 4. Caterpillar plot with a model switch
# ============================================================================================
class CaterpillarSwitch(LessonWidget):
    """Widget behind :func:`caterpillar_switch` (see the module docstring for its API)."""

    def __init__(self, results: dict, units: str | None = None):
        if not results:
            raise ValueError("caterpillar_switch needs a non-empty dict {name: fitted result}")
        self.results = dict(results)
        self.units = units
        self._tables = {k: plots._blup_frame(v) for k, v in self.results.items()}
        self._png: dict[str, bytes] = {}
        self.dropdown = W.Dropdown(options=list(self.results), value=next(iter(self.results)),
                                   description="Model:", description_allow_html=False)
        self.dropdown.add_class("lmm-caterpillar-model")
        self.image = _image_widget()
        self.caption = _caption_widget()
        self.axes = None
        self.dropdown.observe(lambda _c: self.update(), names="value")
        self.update()
        super().__init__([self.dropdown, self.image, self.caption])
        self.add_class("lmm-caterpillar-switch")

    def update(self):
        name = self.dropdown.value
        table = self._tables[name]
        effects = list(dict.fromkeys(table["effect"]))
        fig = Figure(figsize=(4.2 * len(effects), 4.4), dpi=90)
        canvas = FigureCanvasAgg(fig)
        axes = fig.subplots(1, len(effects), squeeze=False)[0]
        plots.caterpillar(table, ax=axes, units=self.units)
        fig.suptitle(f"Model {name}", fontsize=11)
        fig.tight_layout()
        canvas.draw()
        self.axes = axes
        self.image.value = png_rgb(canvas.buffer_rgba())
        self.caption.value = html.escape(self.alt_text())

    def alt_text(self) -> str:
        name = self.dropdown.value
        t = self._tables[name]
        effects = list(dict.fromkeys(t["effect"]))
        return (
            f"Caterpillar plot of model {name}: {t['group'].nunique()} clusters' predicted "
            f"random effects ({', '.join(map(str, effects))}), sorted, with 95% bars "
            "(BLUP ± 1.96 conditional SD)."
        )


def caterpillar_switch(results: dict, units: str | None = None):
    """Caterpillar plot (:func:`lmmcourse.plots.caterpillar`) with a Dropdown of models.

    Parameters
    ----------
    results : dict
        ``{name: fitted MixedLM result}`` (or ``{name: BLUP table}`` with columns
        ``group, effect, blup, sd``).
    units : str, optional
        Outcome units for the x-axis label.

    Returns
    -------
    CaterpillarSwitch
        A :class:`LessonWidget`; a :class:`SkippedWidget` under nbgrader.
    """
    if _grading():
        return SkippedWidget("caterpillar_switch")
    return CaterpillarSwitch(results, units=units)
