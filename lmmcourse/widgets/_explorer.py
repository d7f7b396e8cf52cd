"""Variance explorer: sliders for the between- and within-cluster variances and the cluster size.

Three panels drawn on one Agg figure: (a) the variance partition and the ICC, (b) the shrinkage
factor against the cluster size, (c) simulated clusters' raw means against their BLUP-based
estimates. The numbers come from pure functions (:func:`variance_partition`,
:func:`cluster_draws`, :func:`shrunken_cluster_means`) that are tested without a front end. The
animated artists are updated in place and blitted onto a cached background; the full figure is
redrawn only when the y-range of panel (c) has to change.
"""

from __future__ import annotations

import html

import ipywidgets as W
import numpy as np
from matplotlib.collections import LineCollection

from .. import plots
from ..stats import icc_from_components, shrinkage_factor
from ._base import AggFigure, LessonWidget, a11y_helper, caption_widget, image_widget, skip_when_grading

__all__ = [
    "SLIDER_RANGES",
    "VarianceExplorer",
    "cluster_draws",
    "shrunken_cluster_means",
    "variance_explorer",
    "variance_partition",
]

#: Slider ranges of the variance explorer: (min, max, step).
SLIDER_RANGES = {"sigma2_u": (0, 300, 1), "sigma2_e": (1, 1000, 1), "m": (1, 200, 1)}


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
                    tooltip=f"{description}: whole numbers from {lo} to {hi}; arrow keys move by "
                            f"{step}, Page Up/Down by more",
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
        self.image = image_widget()
        self.caption = caption_widget()
        self.state: dict = {}
        self.full_redraws = 0  # how many events needed a full figure draw (for the benchmark)
        self._build_figure()
        self.update()
        super().__init__([*self.sliders.values(), self.readout, self.image, self.caption,
                          a11y_helper()])
        self.add_class("lmm-variance-explorer")
        for s in self.sliders.values():
            s.observe(self._on_change, names="value")

    # -- figure --------------------------------------------------------------------------
    def _build_figure(self):
        self.figure = AggFigure(figsize=(10.6, 3.5), dpi=90)
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
        alt = self.alt_text()
        self.caption.value = html.escape(alt)
        self.image.alt = alt
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


@skip_when_grading
def variance_explorer(sigma2_u: int = 5, sigma2_e: int = 20, m: int = 4, *,
                      n_clusters: int = 8, seed: int = 2024) -> VarianceExplorer:
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
    VarianceExplorer or SkippedWidget
        A :class:`~lmmcourse.widgets.LessonWidget`; a
        :class:`~lmmcourse.widgets.SkippedWidget` under nbgrader.

    References
    ----------
    Dohoo, Martin & Stryhn (2012), sections 21.2 and 21.5.
    """
    return VarianceExplorer(sigma2_u, sigma2_e, m, n_clusters=n_clusters, seed=seed)
