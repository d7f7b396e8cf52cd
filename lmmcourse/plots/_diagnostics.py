"""Model and diagnostic plots: caterpillar, QQ, residuals, shrinkage, Box-Cox profile, null LRT.

Each function draws on the ``ax`` it is given or on a new pyplot figure, stores a text
alternative with the key numbers on the Axes (:func:`lmmcourse.plots.set_alt`) and returns the
Axes (or an array of them).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from matplotlib.ticker import MaxNLocator
from scipy import stats as _st

from ._core import _finish, _fmt, _new_axes, _unit, palette

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = [
    "caterpillar",
    "caterpillar_alt",
    "caterpillar_figsize",
    "null_lrt_histogram",
    "profile_plot",
    "qq",
    "residuals_vs",
    "shrinkage_plot",
]


# --------------------------------------------------------------------------------------------
# Caterpillar plot
# --------------------------------------------------------------------------------------------
_BLUP_COLUMNS = ("group", "effect", "blup", "sd")


def _blup_frame(result) -> pd.DataFrame:
    if isinstance(result, pd.DataFrame):
        missing = [c for c in _BLUP_COLUMNS if c not in result.columns]
        if missing:
            raise ValueError(
                f"the BLUP table lacks column(s) {missing}; pass a fitted MixedLM result or a "
                f"DataFrame with columns {list(_BLUP_COLUMNS)} as returned by "
                "lmmcourse.stats.blups(result)."
            )
        return result
    try:
        from ..stats import blups
    except ImportError as err:  # pragma: no cover - only before stats.blups exists
        raise ImportError(
            "lmmcourse.stats.blups is not available; pass a DataFrame with columns "
            f"{list(_BLUP_COLUMNS)} instead of a fitted result."
        ) from err
    return blups(result)


def caterpillar_figsize(n_effects: int, n_groups: int) -> tuple[float, float]:
    """Figure size (inches) for a caterpillar plot: 0.22 in per cluster label, at least 4.2 in.

    At the lesson's 10-11 pt tick labels a label needs about 0.2 in, so 30 clusters get
    about 8 in and their names do not overlap.
    """
    return (4.2 * int(n_effects), max(4.2, 1.4 + 0.22 * int(n_groups)))


def caterpillar_alt(result, units: str | None = None, *, z: float = 1.96) -> str:
    """Text alternative of a caterpillar plot: clusters, effects, extremes and bar widths."""
    table = _blup_frame(result)
    parts = []
    u = f" {units}" if units else ""
    for eff in dict.fromkeys(table["effect"]):
        d = table[table["effect"] == eff]
        lo, hi = d.loc[d["blup"].idxmin()], d.loc[d["blup"].idxmax()]
        excl = int(((d["blup"] - z * d["sd"] > 0) | (d["blup"] + z * d["sd"] < 0)).sum())
        parts.append(
            f"{eff}: from {lo['blup']:.2f}{u} (cluster {lo['group']}) to {hi['blup']:.2f}{u} "
            f"(cluster {hi['group']}); {excl} of {len(d)} bars exclude 0"
        )
    return (f"Caterpillar plot of {table['group'].nunique()} clusters' predicted random effects "
            f"(BLUPs), sorted, each with a ±{z:g} SD bar. " + "; ".join(parts) + ".")


def caterpillar(result, ax=None, effect=None, *, z: float = 1.96, units: str | None = None,
                label_groups: bool | None = None) -> Axes | np.ndarray:
    r"""Caterpillar plot: each cluster's BLUP, sorted, with :math:`\pm z \cdot` SD bars.

    The bars are :math:`\hat u_j \pm 1.96\,\mathrm{sd}_j`, with :math:`\mathrm{sd}_j` the
    conditional standard deviation of the random effect given the data (lme4's
    ``ranef(condVar = TRUE)``; ``dotplot(ranef(m))`` in R draws the same picture).

    Parameters
    ----------
    result : MixedLMResults or pandas.DataFrame
        A fitted statsmodels MixedLM result (passed to :func:`lmmcourse.stats.blups`), or that
        function's long table with columns ``group, effect, blup, sd``.
    ax : matplotlib Axes or array of Axes, optional
        Where to draw: one Axes per effect plotted. New axes (one panel per effect, side by
        side) when None.
    effect : str, optional
        Plot only this random effect (e.g. ``"Group"`` or ``"hours"``); all effects when None.
    z : float
        Multiplier of the conditional SD for the bars (1.96: a 95 % prediction interval).
    units : str, optional
        Units of the outcome, added to the x-axis label (e.g. ``"mmHg"``).
    label_groups : bool, optional
        Write every group's name on the y axis; by default only when there are at most 40.
        A new figure grows 0.22 in per cluster (:func:`caterpillar_figsize`), so the names do
        not overlap.

    Returns
    -------
    matplotlib Axes, or ndarray of Axes when several effects are plotted.

    References
    ----------
    Bates, D. et al. (2015). Fitting linear mixed-effects models using lme4. *Journal of
    Statistical Software* 67(1), section 5.1 (conditional modes and variances).
    """
    table = _blup_frame(result)
    effects = list(dict.fromkeys(table["effect"]))
    if effect is not None:
        if effect not in effects:
            raise ValueError(f"effect {effect!r} is not in the BLUP table; choose one of {effects}")
        effects = [effect]
    if ax is None:
        import matplotlib.pyplot as plt

        n_groups = table["group"].nunique()
        _, axes = plt.subplots(1, len(effects), figsize=caterpillar_figsize(len(effects), n_groups),
                               squeeze=False, sharey=False)
        axes = axes[0]
    else:
        axes = np.atleast_1d(ax)
        if len(axes) != len(effects):
            raise ValueError(
                f"{len(effects)} random effect(s) to plot ({effects}) but {len(axes)} Axes given; "
                "pass effect=... to plot one, or one Axes per effect."
            )
    colour = palette(1)[0]
    for a, eff in zip(axes, effects, strict=True):
        d = table[table["effect"] == eff].sort_values("blup", kind="mergesort")
        y = np.arange(len(d))
        b = d["blup"].to_numpy(float)
        half = z * d["sd"].to_numpy(float)
        a.errorbar(b, y, xerr=half, fmt="o", color=colour, ecolor="0.35", elinewidth=1.2,
                   capsize=2, markersize=5, label=f"BLUP ± {z:g} SD", gid="caterpillar")
        a.axvline(0.0, color="0.2", linestyle="--", linewidth=1)
        show = label_groups if label_groups is not None else len(d) <= 40
        if show:
            a.set_yticks(y, [str(g) for g in d["group"]])
        else:
            a.set_yticks([])
        a.set_ylabel("cluster (sorted by BLUP)")
        a.set_xlabel(_unit(f"predicted random effect: {eff}", units))
        a.set_title(f"{eff}: BLUP ± {z:g} SD")
        _finish(a, caterpillar_alt(table[table["effect"] == eff], units=units, z=z))
    return axes[0] if len(axes) == 1 else np.asarray(axes)


# --------------------------------------------------------------------------------------------
# QQ plot
# --------------------------------------------------------------------------------------------
def _ppoints(n: int) -> np.ndarray:
    """R's ``ppoints(n)``: (i - a) / (n + 1 - 2a), a = 3/8 if n <= 10 else 1/2."""
    a = 3.0 / 8.0 if n <= 10 else 0.5
    return (np.arange(1, n + 1) - a) / (n + 1 - 2 * a)


def qq(values, ax=None, title: str = "Normal QQ plot", *, units: str | None = None) -> Axes:
    r"""Normal quantile-quantile plot with a reference line through the quartiles.

    Sorted values are plotted against standard-normal quantiles
    :math:`\Phi^{-1}(p_i)` at R's plotting positions ``ppoints(n)``,
    :math:`p_i = (i - a)/(n + 1 - 2a)` with :math:`a = 3/8` for :math:`n \le 10`, else 1/2.
    The line is R's ``qqline``: it passes through the first and third quartiles, with slope
    :math:`(Q_3 - Q_1)/(\Phi^{-1}(0.75) - \Phi^{-1}(0.25))`.

    Parameters
    ----------
    values : array_like
        Residuals or BLUPs; non-finite values are dropped.
    ax : matplotlib Axes, optional
    title : str
    units : str, optional
        Units of ``values`` for the y-axis label.

    Returns
    -------
    matplotlib Axes

    References
    ----------
    Chambers, J. M., Cleveland, W. S., Kleiner, B. & Tukey, P. A. (1983). *Graphical Methods
    for Data Analysis*, ch. 6. R Core Team, ``?qqnorm``, ``?ppoints``.
    """
    v = np.asarray(values, dtype=float).ravel()
    v = np.sort(v[np.isfinite(v)])
    if v.size < 2:
        raise ValueError(f"a QQ plot needs at least 2 finite values, got {v.size}")
    ax = _new_axes(ax, figsize=(4.5, 4.5))
    theo = _st.norm.ppf(_ppoints(v.size))
    q1, q3 = np.quantile(v, [0.25, 0.75])  # R's quantile type 7 (numpy's default)
    z1, z3 = _st.norm.ppf([0.25, 0.75])
    slope = (q3 - q1) / (z3 - z1)
    intercept = q1 - slope * z1
    ax.plot(theo, v, "o", color=palette(1)[0], markersize=4, alpha=0.8, label="data", gid="qq")
    xs = np.array([theo[0], theo[-1]])
    ax.plot(xs, intercept + slope * xs, color="0.2", linestyle="--", linewidth=1.2,
            label="line through the quartiles", gid="qqline")
    ax.set_xlabel("theoretical quantile (standard normal, SD units)")
    ax.set_ylabel(_unit("sample quantile", units))
    ax.set_title(title)
    dev = v - (intercept + slope * theo)
    k = int(np.argmax(np.abs(dev)))
    u = f" {units}" if units else ""
    return _finish(ax, (
        f"{title}: {v.size} sorted values, from {_fmt(v[0])} to {_fmt(v[-1])}{u}, plotted "
        f"against standard-normal quantiles, with a dashed line through the quartiles "
        f"(slope {_fmt(slope)}). The largest distance from the line is {_fmt(dev[k])}{u}, at "
        f"theoretical quantile {_fmt(theo[k])}."
    ))


# --------------------------------------------------------------------------------------------
# Residuals against a variable
# --------------------------------------------------------------------------------------------
def _binned_means(x, y, bins):
    edges = np.quantile(x, np.linspace(0, 1, bins + 1))
    edges = np.unique(edges)
    idx = np.clip(np.searchsorted(edges, x, side="right") - 1, 0, len(edges) - 2)
    cx, cy = [], []
    for k in range(len(edges) - 1):
        sel = idx == k
        if sel.any():
            cx.append(x[sel].mean())
            cy.append(y[sel].mean())
    return np.asarray(cx), np.asarray(cy)


def residuals_vs(x, resid, ax=None, xlabel: str = "fitted value",
                 ylabel: str = "residual", *, smoother: str = "lowess", frac: float = 2 / 3,
                 bins: int = 10, title: str | None = None) -> Axes:
    """Scatter of residuals against a variable, with a zero line and a smoother.

    Parameters
    ----------
    x, resid : array_like
        Same length; non-finite pairs are dropped.
    ax : matplotlib Axes, optional
    xlabel, ylabel : str
        Axis labels; include the units, e.g. ``"fitted SBP (mmHg)"``.
    smoother : {"lowess", "bins", None}
        ``"lowess"``: locally weighted regression (statsmodels ``lowess``, span ``frac``;
        R's ``lowess`` default span is 2/3). ``"bins"``: the mean residual in ``bins``
        equal-count bins of ``x``, drawn at the bins' mean ``x``. None: no line.
    frac : float
        Lowess span.
    bins : int
        Number of equal-count bins for ``smoother="bins"``.
    title : str, optional

    Returns
    -------
    matplotlib Axes

    References
    ----------
    Cleveland, W. S. (1979). Robust locally weighted regression and smoothing scatterplots.
    *JASA* 74:829-836.
    """
    x = np.asarray(x, dtype=float).ravel()
    r = np.asarray(resid, dtype=float).ravel()
    if x.shape != r.shape:
        raise ValueError(f"x and resid must have the same length, got {x.size} and {r.size}")
    ok = np.isfinite(x) & np.isfinite(r)
    x, r = x[ok], r[ok]
    if x.size < 3:
        raise ValueError(f"need at least 3 finite (x, resid) pairs, got {x.size}")
    ax = _new_axes(ax, figsize=(5.5, 4.0))
    c = palette(2)
    ax.plot(x, r, "o", color=c[0], markersize=3.5, alpha=0.6, label="residual", gid="points")
    ax.axhline(0.0, color="0.2", linewidth=1, linestyle=":")
    if smoother == "lowess":
        from statsmodels.nonparametric.smoothers_lowess import lowess

        fit = lowess(r, x, frac=frac, return_sorted=True)
        ax.plot(fit[:, 0], fit[:, 1], color=c[1], linestyle="--", linewidth=2,
                label="lowess", gid="smoother")
    elif smoother == "bins":
        bx, by = _binned_means(x, r, int(bins))
        ax.plot(bx, by, color=c[1], linestyle="--", marker="s", linewidth=2,
                label="binned mean", gid="smoother")
    elif smoother is not None:
        raise ValueError(f"smoother must be 'lowess', 'bins' or None, got {smoother!r}")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    ax.legend(loc="best")
    trend = ""
    if smoother is not None:
        sm = next(ln for ln in ax.get_lines() if ln.get_gid() == "smoother")
        ys = np.asarray(sm.get_ydata(), float)
        trend = (f" The {'lowess' if smoother == 'lowess' else 'binned-mean'} line runs from "
                 f"{_fmt(ys.min())} to {_fmt(ys.max())}.")
    return _finish(ax, (
        f"{title + ': ' if title else ''}{ylabel} of {x.size} points against {xlabel} "
        f"({_fmt(x.min())} to {_fmt(x.max())}), with a dotted zero line; residuals range from "
        f"{_fmt(r.min())} to {_fmt(r.max())}.{trend}"
    ))


# --------------------------------------------------------------------------------------------
# Shrinkage plot
# --------------------------------------------------------------------------------------------
def shrinkage_plot(raw_means, blups, sizes, grand_mean: float = 0.0, ax=None, *,
                   labels=None, ylabel: str = "cluster mean (outcome units)",
                   title: str = "Raw cluster means and mixed-model estimates") -> Axes:
    r"""Show shrinkage: each cluster's raw mean joined by an arrow to its mixed-model estimate.

    The mixed-model estimate of cluster :math:`j` is :math:`\hat\mu + \hat u_j` (grand mean
    plus BLUP). In a random-intercept model :math:`\hat u_j = R_j(\bar y_j - \hat\mu)` with
    :math:`R_j = \sigma^2_u/(\sigma^2_u + \sigma^2_e/m_j)`, so arrows from small clusters are
    longer. Raw means are drawn at x = 0 (circles), estimates at x = 1 (diamonds); marker area is
    proportional to cluster size, and a dashed line marks the grand mean.

    Parameters
    ----------
    raw_means : array_like
        Observed cluster means :math:`\bar y_j`.
    blups : array_like
        Predicted random intercepts :math:`\hat u_j` (deviations from ``grand_mean``).
    sizes : array_like
        Cluster sizes :math:`m_j` (positive).
    grand_mean : float
        :math:`\hat\mu`, the fixed intercept.
    ax : matplotlib Axes, optional
    labels : sequence of str, optional
        Cluster names, written next to the raw means.
    ylabel, title : str

    Returns
    -------
    matplotlib Axes

    References
    ----------
    Dohoo, Martin & Stryhn (2012), section 21.5; Gelman & Hill (2007), section 12.2.
    """
    raw = np.asarray(raw_means, dtype=float).ravel()
    est = float(grand_mean) + np.asarray(blups, dtype=float).ravel()
    m = np.asarray(sizes, dtype=float).ravel()
    if not raw.size == est.size == m.size:
        raise ValueError(
            f"raw_means, blups and sizes must have one value per cluster; got lengths "
            f"{raw.size}, {est.size}, {m.size}"
        )
    if np.any(m <= 0):
        raise ValueError("cluster sizes must be positive")
    ax = _new_axes(ax, figsize=(4.5, 5.0))
    c = palette(2)
    area = 12.0 + 200.0 * m / m.max()
    for j in range(raw.size):
        ax.annotate("", xy=(1, est[j]), xytext=(0, raw[j]),
                    arrowprops={"arrowstyle": "->", "color": "0.45", "linewidth": 0.9})
    ax.scatter(np.zeros_like(raw), raw, s=area, color=c[1], marker="o", edgecolor="k",
               linewidth=0.5, label="raw cluster mean", gid="raw", zorder=3)
    ax.scatter(np.ones_like(est), est, s=area, color=c[0], marker="D", edgecolor="k",
               linewidth=0.5, label="mixed-model estimate", gid="estimate", zorder=3)
    ax.axhline(float(grand_mean), color="0.2", linestyle="--", linewidth=1, label="grand mean")
    if labels is not None:
        for j, lab in enumerate(labels):
            ax.annotate(str(lab), (0, raw[j]), xytext=(-8, 0), textcoords="offset points",
                        ha="right", va="center", fontsize=8)
    ax.set_xticks([0, 1], ["raw mean", "mixed model"])
    ax.set_xlim(-0.5, 1.5)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(loc="best", fontsize=8)
    move = np.abs(raw - est)
    j = int(np.argmax(move))
    name = f"cluster {labels[j]}" if labels is not None else f"cluster {j + 1}"
    return _finish(ax, (
        f"{title}: {raw.size} clusters. Raw means from {_fmt(raw.min())} to {_fmt(raw.max())} "
        f"are joined by arrows to mixed-model estimates from {_fmt(est.min())} to "
        f"{_fmt(est.max())}, pulled toward the grand mean {_fmt(grand_mean)} (dashed line); "
        f"marker area grows with cluster size ({int(m.min())} to {int(m.max())}). The largest "
        f"move is {name} (size {int(m[j])}), from {_fmt(raw[j])} to {_fmt(est[j])}."
    ))


# --------------------------------------------------------------------------------------------
# Box-Cox profile
# --------------------------------------------------------------------------------------------
def profile_plot(profile_df, best: float, ci, ax=None, *, level: float = 0.95,
                 title: str = "Box-Cox profile log-likelihood (ML)") -> Axes:
    r"""Profile log-likelihood of the Box-Cox :math:`\lambda`, with the maximum and CI marked.

    A horizontal line at :math:`\ell_{\max} - \chi^2_{1,\,level}/2` (1.92 for 95 %) shows where
    the likelihood-ratio confidence interval for :math:`\lambda` is cut. The computed points are
    marked and joined by a not-a-knot cubic spline (a smooth curve through every point, exact
    for a quadratic profile), not by straight segments.

    Parameters
    ----------
    profile_df : pandas.DataFrame
        Columns ``lambda`` and ``loglik`` (ML log-likelihood on the original scale, Jacobian
        included).
    best : float
        The maximising :math:`\hat\lambda`.
    ci : (float, float)
        Lower and upper confidence limits.
    ax : matplotlib Axes, optional
    level : float
        Confidence level of ``ci`` (sets the cut-off line).
    title : str

    Returns
    -------
    matplotlib Axes

    References
    ----------
    Box, G. E. P. & Cox, D. R. (1964). An analysis of transformations. *JRSS B* 26:211-252;
    Dohoo, Martin & Stryhn (2012), section 21.6.
    """
    missing = [c for c in ("lambda", "loglik") if c not in profile_df.columns]
    if missing:
        raise ValueError(f"profile_df lacks column(s) {missing}; it needs 'lambda' and 'loglik'")
    lo, hi = (float(v) for v in ci)
    d = profile_df.sort_values("lambda")
    lam = d["lambda"].to_numpy(float)
    ll = d["loglik"].to_numpy(float)
    ax = _new_axes(ax, figsize=(5.5, 4.0))
    c = palette(3)
    grid, curve = _smooth_profile(lam, ll)
    ax.plot(grid, curve, color=c[0], linestyle="-", label="profile log-likelihood",
            gid="profile")
    ax.plot(lam, ll, color=c[0], marker="o", markersize=4, linestyle="none",
            label=f"computed at {lam.size} values of λ", gid="profile_points")
    cut = np.nanmax(ll) - _st.chi2.ppf(level, 1) / 2
    ax.axhline(cut, color="0.3", linestyle=":", linewidth=1,
               label=f"max − χ²₁({level:g})/2", gid="cutoff")
    ax.axvline(float(best), color=c[1], linestyle="--", label=f"λ̂ = {float(best):.2f}", gid="best")
    ax.axvspan(lo, hi, color=c[2], alpha=0.15, hatch="//",
               label=f"{level:.0%} CI [{lo:.2f}, {hi:.2f}]", gid="ci")
    ax.xaxis.set_major_locator(MaxNLocator(nbins=6))
    ax.set_xlabel("Box-Cox λ (power, unitless)")
    ax.set_ylabel("log-likelihood (ML)")
    ax.set_title(title)
    ax.legend(loc="best", fontsize=8)
    return _finish(ax, (
        f"{title}: profile log-likelihood of the Box-Cox λ from {_fmt(lam.min())} to "
        f"{_fmt(lam.max())}, highest at λ̂ = {_fmt(best)} (dashed line). The dotted cut-off "
        f"{_fmt(_st.chi2.ppf(level, 1) / 2)} below the maximum gives the {level:.0%} interval "
        f"[{_fmt(lo)}, {_fmt(hi)}] (shaded)."
    ))


def _smooth_profile(lam: np.ndarray, ll: np.ndarray, n: int = 301):
    """A smooth curve through the profile points: a not-a-knot cubic spline (4+ points).

    The spline interpolates every computed point and reproduces any cubic exactly, so a
    quadratic profile near its maximum is drawn as the parabola it is. With fewer than 4
    points, or repeated λ values, the points are joined by straight lines.
    """
    from scipy.interpolate import CubicSpline

    ok = np.isfinite(ll)
    lam, ll = lam[ok], ll[ok]
    if lam.size < 4 or np.any(np.diff(lam) <= 0):
        return lam, ll
    grid = np.linspace(lam[0], lam[-1], n)
    return grid, CubicSpline(lam, ll, bc_type="not-a-knot")(grid)


# --------------------------------------------------------------------------------------------
# Null distribution of the LRT for a variance component
# --------------------------------------------------------------------------------------------
def null_lrt_histogram(lrt, ax=None, *, observed: float | None = None, bins: int = 40,
                       xmax: float | None = None,
                       title: str = "LRT for a variance component under H0") -> Axes:
    r"""Histogram of simulated null LRT statistics against :math:`\chi^2_1` and the mixture.

    Testing :math:`H_0: \sigma^2_u = 0` puts the parameter on the boundary, so the null
    distribution of the LRT is the 50:50 mixture :math:`\tfrac12\chi^2_0 + \tfrac12\chi^2_1`:
    a point mass of 1/2 at zero plus half a :math:`\chi^2_1` density,
    :math:`f(x) = \tfrac12 \, e^{-x/2}/\sqrt{2\pi x}` for :math:`x > 0`. The histogram shows the
    positive values as a density scaled to their share of all draws, so it is comparable to
    both curves; the share of exact zeros is written in the legend.

    Parameters
    ----------
    lrt : array_like
        Simulated LRT statistics (negative rounding noise is set to 0).
    ax : matplotlib Axes, optional
    observed : float, optional
        Observed LRT; drawn as a vertical line with both p-values
        (:math:`P(\chi^2_1 \ge x)` and half of it) in the legend.
    bins : int
    xmax : float, optional
        Right end of the x axis (default: the larger of 8 and the 99th percentile).
    title : str

    Returns
    -------
    matplotlib Axes

    References
    ----------
    Self, S. G. & Liang, K.-Y. (1987). Asymptotic properties of maximum likelihood estimators
    and likelihood ratio tests under nonstandard conditions. *JASA* 82:605-610.
    Stram, D. O. & Lee, J. W. (1994). Variance components testing in the longitudinal mixed
    effects model. *Biometrics* 50:1171-1177.
    """
    v = np.asarray(lrt, dtype=float).ravel()
    v = v[np.isfinite(v)]
    if v.size == 0:
        raise ValueError("lrt has no finite values")
    v = np.where(v < 1e-8, 0.0, v)
    ax = _new_axes(ax, figsize=(5.5, 4.0))
    c = palette(3)
    pos = v[v > 0]
    share_zero = 1.0 - pos.size / v.size
    top = xmax if xmax is not None else max(8.0, float(np.quantile(v, 0.99)))
    if pos.size:
        edges = np.linspace(0.0, top, bins + 1)
        counts, _ = np.histogram(pos, bins=edges)
        dens = counts / (v.size * np.diff(edges))  # density of the positive part, mass 1 - p0
        ax.bar(edges[:-1], dens, width=np.diff(edges), align="edge", color="0.8",
               edgecolor="0.5", linewidth=0.5,
               label=f"simulated (share exactly 0: {share_zero:.2f})", gid="hist")
    xs = np.linspace(top / 400, top, 400)
    chi = _st.chi2.pdf(xs, 1)
    ax.plot(xs, chi, color=c[1], linestyle="--", label="χ²₁ density", gid="chi2")
    ax.plot(xs, 0.5 * chi, color=c[0], linestyle="-",
            label="50:50 mixture (½χ²₀ + ½χ²₁), x > 0", gid="mixture")
    if observed is not None:
        obs = float(observed)
        p_chi = _st.chi2.sf(obs, 1)
        ax.axvline(obs, color=c[2], linestyle=":", linewidth=2,
                   label=f"observed {obs:.2f}: p = {p_chi:.3g} (χ²₁), {p_chi / 2:.3g} (mixture)",
                   gid="observed")
    ax.set_xlim(0, top)
    ax.set_ylim(0, 1.2)
    ax.set_xlabel("LRT statistic (−2 × log-likelihood difference)")
    ax.set_ylabel("density (per unit of LRT)")
    ax.set_title(title)
    ax.legend(loc="upper right", fontsize=8)
    obs_txt = ""
    if observed is not None:
        obs_txt = (f" The observed value {_fmt(obs)} (dotted line) has p = {p_chi:.3g} against "
                   f"χ²₁ and {p_chi / 2:.3g} against the mixture.")
    return _finish(ax, (
        f"{title}: histogram of {v.size} simulated likelihood-ratio statistics, "
        f"{share_zero:.0%} of them exactly 0, with the χ²₁ density (dashed) and half of it, "
        f"the 50:50 mixture of χ²₀ and χ²₁ (solid); {np.mean(v > _st.chi2.ppf(0.95, 1)):.1%} "
        f"of the simulated values exceed the χ²₁ 5% critical value "
        f"{_fmt(_st.chi2.ppf(0.95, 1))}.{obs_txt}"
    ))
