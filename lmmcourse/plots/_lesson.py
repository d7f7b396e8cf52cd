"""Figures that show the lesson's data and results before and beside the numbers.

=============================  =============================================================
:func:`clinic_overview`        every patient's outcome by cluster, plus cluster means with
                               t intervals, clusters sorted by their mean
:func:`cluster_lines`          complete pooling vs no pooling vs partial pooling (mixed-model)
                               lines per cluster, side by side
:func:`ml_reml_plot`           simulated ML and REML estimates of a variance against the truth
                               (input: :func:`lmmcourse.simulate.ml_reml_bias`)
:func:`cluster_influence_plot` leave-one-cluster-out Cook's distance per cluster with a
                               reference line (input: ``stats.cluster_influence``)
=============================  =============================================================
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy import stats as _st

from ._core import _finish, _fmt, _unit, palette

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["clinic_overview", "cluster_influence_plot", "cluster_lines", "ml_reml_plot"]


def _need(df: pd.DataFrame, cols, what: str) -> None:
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise ValueError(f"{what} needs column(s) {missing}; the data have {list(df.columns)}")


def _height(n_rows: int) -> float:
    """Figure height (inches) for one labelled row per cluster: 0.22 in each, at least 4.2."""
    return max(4.2, 1.4 + 0.22 * int(n_rows))


# --------------------------------------------------------------------------------------------
# Clinic overview
# --------------------------------------------------------------------------------------------
def clinic_overview(data: pd.DataFrame, cluster: str = "clinic_id", y: str = "sbp", ax=None, *,
                    level: float = 0.95, units: str | None = "mmHg",
                    label: str | None = None, seed: int = 1) -> Axes:
    r"""Each patient's outcome by cluster, with the cluster means and their t intervals, sorted.

    For cluster :math:`j` with :math:`n_j` patients, mean :math:`\bar y_j` and SD :math:`s_j`
    the interval is :math:`\bar y_j \pm t_{n_j-1,\,(1+level)/2}\; s_j/\sqrt{n_j}` (each cluster
    on its own, no model). Clusters are sorted by their mean (lowest at the bottom); patients
    are drawn as light circles with a small vertical jitter, means as diamonds; a dashed line
    marks the mean of all patients.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per patient, with columns ``cluster`` and ``y``.
    cluster, y : str
        Column names (default: the clinics data, ``clinic_id`` and ``sbp``).
    ax : matplotlib Axes, optional
        New figure when None, 0.22 in tall per cluster (30 clinics: 8 in).
    level : float
        Confidence level of the intervals.
    units : str, optional
        Units of ``y`` for the axis label.
    label : str, optional
        Name of the outcome for the axis label (default: the column name).
    seed : int
        Seed of the jitter (the picture is the same every run).

    Returns
    -------
    matplotlib Axes

    References
    ----------
    Dohoo, Martin & Stryhn (2012), section 20.2 (looking at clustered data before modelling).
    """
    _need(data, [cluster, y], "clinic_overview")
    d = data[[cluster, y]].dropna()
    g = d.groupby(cluster, observed=True)[y]
    tab = pd.DataFrame({"n": g.size(), "mean": g.mean(), "sd": g.std(ddof=1)})
    if (tab["n"] < 2).any():
        raise ValueError("every cluster needs at least 2 observations for an interval; "
                         f"these have 1: {list(tab.index[tab['n'] < 2])}")
    half = _st.t.ppf((1 + level) / 2, tab["n"] - 1) * tab["sd"] / np.sqrt(tab["n"])
    tab["lower"], tab["upper"] = tab["mean"] - half, tab["mean"] + half
    tab = tab.sort_values("mean", kind="mergesort")
    pos = pd.Series(np.arange(len(tab)), index=tab.index)
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(7.0, _height(len(tab))))
    rng = np.random.default_rng(seed)
    yy = pos.loc[d[cluster]].to_numpy(float) + rng.uniform(-0.2, 0.2, len(d))
    ax.plot(d[y].to_numpy(float), yy, "o", color="0.45", markersize=3, alpha=0.45,
            linestyle="none", label="patient", gid="patients")
    blue = palette(1)[0]
    mean, lower, upper = (tab[c].to_numpy(float) for c in ("mean", "lower", "upper"))
    ax.errorbar(mean, pos.to_numpy(float), xerr=[mean - lower, upper - mean],
                fmt="D", color=blue, markeredgecolor="k", markersize=5, ecolor=blue,
                elinewidth=1.6, capsize=2.5, label=f"clinic mean, {level:.0%} t interval",
                gid="means")
    overall = float(d[y].mean())
    ax.axvline(overall, color="0.2", linestyle="--", linewidth=1,
               label=f"mean of all patients ({overall:.1f})", gid="overall")
    ax.set_yticks(pos.to_numpy(), [f"{c} (n = {int(n)})" for c, n in tab["n"].items()])
    ax.set_ylim(-0.7, len(tab) - 0.3)
    name = label or y
    ax.set_xlabel(_unit(name, units))
    ax.set_ylabel(f"{cluster} (sorted by mean)")
    ax.set_title(f"{len(tab)} clusters: patients and cluster means")
    ax.legend(loc="lower right", fontsize=8, framealpha=0.9)
    u = f" {units}" if units else ""
    lo, hi = tab.iloc[0], tab.iloc[-1]
    return _finish(ax, (
        f"{name} of {len(d)} patients in {len(tab)} clusters ({int(tab['n'].min())} to "
        f"{int(tab['n'].max())} each), one row per cluster sorted by its mean. Cluster means run "
        f"from {lo['mean']:.1f}{u} ({tab.index[0]}, {level:.0%} interval {lo['lower']:.1f} to "
        f"{lo['upper']:.1f}) to {hi['mean']:.1f}{u} ({tab.index[-1]}, {hi['lower']:.1f} to "
        f"{hi['upper']:.1f}); the mean of all patients is {overall:.1f}{u}. The SD of the "
        f"cluster means is {tab['mean'].std(ddof=1):.1f}{u}, the typical SD within a cluster "
        f"{np.sqrt((tab['sd'] ** 2).mean()):.1f}{u}."
    ))


# --------------------------------------------------------------------------------------------
# Fitted lines per cluster
# --------------------------------------------------------------------------------------------
def _mixed_lines(data, x, y, cluster, result):
    if result is None:
        import statsmodels.formula.api as smf

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = smf.mixedlm(f"{y} ~ {x}", data, groups=data[cluster],
                                 re_formula=f"~{x}").fit(reml=True)
    fe = result.fe_params
    if "Intercept" not in fe.index or x not in fe.index:
        raise ValueError(f"the fitted model needs an intercept and a coefficient for {x!r}; it "
                         f"has {list(fe.index)}")
    b0, b1 = float(fe["Intercept"]), float(fe[x])
    rows = {}
    for g, re in result.random_effects.items():
        u1 = float(re[x]) if x in re.index else 0.0
        rows[g] = (b0 + float(re.iloc[0]), b1 + u1)
    lines = pd.DataFrame.from_dict(rows, orient="index", columns=["intercept", "slope"])
    return lines, (b0, b1)


def cluster_lines(data: pd.DataFrame, x: str, y: str, cluster: str, result=None, ax=None, *,
                  xlabel: str | None = None, ylabel: str | None = None,
                  units: str | None = None) -> np.ndarray:
    r"""Complete pooling, no pooling and partial pooling: one line, a line per cluster, and the
    mixed model's line per cluster, in three panels that share the y axis.

    * complete pooling: OLS of ``y`` on ``x`` ignoring clusters (black, solid);
    * no pooling: a separate OLS line in every cluster with at least two distinct ``x``
      values (grey, solid); the pooled line is repeated, dotted;
    * partial pooling: :math:`(\hat\beta_0 + \hat u_{0j}) + (\hat\beta_1 + \hat u_{1j})\,x`
      from the mixed model (grey, dashed), with the fixed-effect line
      :math:`\hat\beta_0 + \hat\beta_1 x` (blue, dash-dot).

    Each cluster's line spans that cluster's range of ``x``.

    Parameters
    ----------
    data : pandas.DataFrame
    x, y, cluster : str
        Column names: covariate, outcome, cluster identifier.
    result : MixedLMResults, optional
        A fitted model whose fixed part has ``Intercept`` and ``x`` (other covariates are held
        at 0) and whose random part has an intercept and, optionally, a slope for ``x``. By
        default ``y ~ x`` with a random intercept and slope for ``x`` is fitted by REML.
    ax : array of 3 matplotlib Axes, optional
    xlabel, ylabel : str, optional
        Axis labels (default: the column names); ``units`` is added to the y label.
    units : str, optional

    Returns
    -------
    ndarray of 3 Axes

    References
    ----------
    Gelman, A. & Hill, J. (2007). *Data Analysis Using Regression and Multilevel/Hierarchical
    Models*, sections 12.2-13.1 (complete, no and partial pooling).
    """
    _need(data, [x, y, cluster], "cluster_lines")
    d = data[[x, y, cluster]].dropna()
    xs, ys = d[x].to_numpy(float), d[y].to_numpy(float)
    pooled_slope, pooled_icpt = np.polyfit(xs, ys, 1)
    own = {}
    for g, dd in d.groupby(cluster, observed=True):
        if dd[x].nunique() >= 2:
            s, i = np.polyfit(dd[x].to_numpy(float), dd[y].to_numpy(float), 1)
            own[g] = (i, s)
    own = pd.DataFrame.from_dict(own, orient="index", columns=["intercept", "slope"])
    mixed, (b0, b1) = _mixed_lines(d, x, y, cluster, result)
    rng_x = d.groupby(cluster, observed=True)[x].agg(["min", "max"])
    if ax is None:
        import matplotlib.pyplot as plt

        _, axes = plt.subplots(1, 3, figsize=(13.0, 4.4), sharey=True)
    else:
        axes = np.atleast_1d(ax)
        if len(axes) != 3:
            raise ValueError(f"cluster_lines draws 3 panels; pass 3 Axes, got {len(axes)}")
    blue = palette(1)[0]
    lim = np.array([xs.min(), xs.max()])

    def cluster_line(a, table, g, style, gid):
        lo, hi = rng_x.loc[g, "min"], rng_x.loc[g, "max"]
        xx = np.array([lo, hi], dtype=float)
        i, s = table.loc[g, "intercept"], table.loc[g, "slope"]
        return a.plot(xx, i + s * xx, color="0.4", linewidth=1.1, linestyle=style, alpha=0.9,
                      gid=gid)[0]

    for a in axes:
        a.plot(xs, ys, "o", color="0.6", markersize=2.5, alpha=0.35, linestyle="none",
               label="observation")
    a1, a2, a3 = axes
    a1.plot(lim, pooled_icpt + pooled_slope * lim, color="k", linewidth=2.4, linestyle="-",
            label=f"one OLS line (slope {pooled_slope:.2f})", gid="pooled")
    for g in own.index:
        cluster_line(a2, own, g, "-", "no_pooling")
    a2.plot([], [], color="0.4", linestyle="-", label=f"{len(own)} clusters' own OLS lines")
    for g in mixed.index:
        cluster_line(a3, mixed, g, "--", "mixed")
    a3.plot([], [], color="0.4", linestyle="--", label=f"{len(mixed)} mixed-model lines")
    a3.plot(lim, b0 + b1 * lim, color=blue, linewidth=2.6, linestyle="-.",
            label=f"fixed-effect line (slope {b1:.2f})", gid="fixed", zorder=5)
    for a in (a2, a3):
        a.plot(lim, pooled_icpt + pooled_slope * lim, color="k", linewidth=1.4, linestyle=":",
               label="one OLS line (dotted)")
    titles = ("Complete pooling", "No pooling", "Partial pooling (mixed model)")
    for a, t in zip(axes, titles, strict=True):
        a.set_title(t)
        a.set_xlabel(xlabel or x)
        a.legend(loc="best", fontsize=8, framealpha=0.9)
    a1.set_ylabel(_unit(ylabel or y, units))
    sd_own, sd_mix = own["slope"].std(ddof=1), mixed["slope"].std(ddof=1)
    _finish(a1, (
        f"Three panels of {ylabel or y} against {xlabel or x} for {d[cluster].nunique()} "
        f"clusters ({len(d)} observations). Complete pooling: one OLS line, slope "
        f"{_fmt(pooled_slope)}."
    ))
    _finish(a2, (
        f"No pooling: {len(own)} per-cluster OLS lines, slopes from {_fmt(own['slope'].min())} "
        f"to {_fmt(own['slope'].max())} (SD {_fmt(sd_own)})."
    ))
    _finish(a3, (
        f"Partial pooling: {len(mixed)} mixed-model lines, slopes from "
        f"{_fmt(mixed['slope'].min())} to {_fmt(mixed['slope'].max())} (SD {_fmt(sd_mix)}), "
        f"around the fixed-effect slope {_fmt(b1)}; the mixed-model slopes are "
        f"{'less' if sd_mix < sd_own else 'not less'} spread out than the clusters' own."
    ))
    return np.asarray(axes)


# --------------------------------------------------------------------------------------------
# ML vs REML
# --------------------------------------------------------------------------------------------
def ml_reml_plot(sims: pd.DataFrame, true_value: float, ax=None, *,
                 component: str = "sigma2_u", bins: int = 30,
                 units: str | None = None) -> np.ndarray:
    r"""Distributions of simulated ML and REML estimates of a variance against its true value.

    Two panels share the x axis: the ML estimates (top) and the REML estimates (bottom) of
    ``component`` over the replicates of :func:`lmmcourse.simulate.ml_reml_bias`, each with the
    true value (black, solid) and the mean of the estimates (dashed) marked; the bias
    :math:`\overline{\hat\sigma^2} - \sigma^2` is written in each title.

    Parameters
    ----------
    sims : pandas.DataFrame
        Output of :func:`lmmcourse.simulate.ml_reml_bias`: columns ``<component>_ml`` and
        ``<component>_reml``, one row per replicate.
    true_value : float
        The variance the data were simulated with (the ``sigma2_u`` or ``sigma2_e`` passed to
        ``ml_reml_bias``).
    ax : array of 2 matplotlib Axes, optional
    component : {"sigma2_u", "sigma2_e"}
    bins : int
    units : str, optional
        Units of the variance (e.g. ``"mmHg²"``).

    Returns
    -------
    ndarray of 2 Axes

    References
    ----------
    Patterson, H. D. & Thompson, R. (1971). Recovery of inter-block information when block
    sizes are unequal. *Biometrika* 58, 545-554.
    """
    cols = [f"{component}_ml", f"{component}_reml"]
    _need(sims, cols, "ml_reml_plot (pass the output of lmmcourse.simulate.ml_reml_bias)")
    est = {k: sims[c].to_numpy(float) for k, c in zip(("ML", "REML"), cols, strict=True)}
    est = {k: v[np.isfinite(v)] for k, v in est.items()}
    truth = float(true_value)
    if ax is None:
        import matplotlib.pyplot as plt

        _, axes = plt.subplots(2, 1, figsize=(6.4, 5.6), sharex=True)
    else:
        axes = np.atleast_1d(ax)
        if len(axes) != 2:
            raise ValueError(f"ml_reml_plot draws 2 panels (ML, REML); pass 2 Axes, got {len(axes)}")
    allv = np.concatenate(list(est.values()))
    edges = np.linspace(min(allv.min(), truth, 0.0), max(np.quantile(allv, 0.995), truth) * 1.02,
                        bins + 1)
    blue, orange = palette(2)
    sym = "σ²u" if component == "sigma2_u" else ("σ²e" if component == "sigma2_e" else component)
    u = f" {units}" if units else ""
    parts = []
    for a, (name, v), col, hatch in zip(axes, est.items(), (orange, blue), ("//", "\\\\"),
                                        strict=True):
        a.hist(np.clip(v, edges[0], edges[-1]), bins=edges, color=col, alpha=0.55,
               edgecolor="k", linewidth=0.4, hatch=hatch, label=f"{name} estimates (n = {v.size})",
               gid=f"hist_{name.lower()}")
        mean = float(v.mean())
        bias = mean - truth
        a.axvline(truth, color="k", linestyle="-", linewidth=2, label=f"true {sym} = {truth:g}",
                  gid="truth")
        a.axvline(mean, color="0.25", linestyle="--", linewidth=2,
                  label=f"mean of {name} = {mean:.1f}", gid=f"mean_{name.lower()}")
        a.set_title(f"{name}: mean {mean:.1f}, bias {bias:+.1f} ({bias / truth:+.0%} of the truth)",
                    fontsize=11)
        a.set_ylabel("replicates")
        a.legend(loc="upper right", fontsize=8, framealpha=0.9)
        at0 = float(np.mean(v <= 1e-8 * max(truth, 1.0)))
        parts.append(f"{name} mean {mean:.1f}{u} (bias {bias:+.1f}, {bias / truth:+.0%}; "
                     f"{at0:.0%} of estimates at 0)")
    axes[-1].set_xlabel(_unit(f"estimate of {sym}", units))
    _finish(axes[0], (
        f"Histograms of {len(sims)} simulated ML (top) and REML (bottom) estimates of {sym} "
        f"against the true value {truth:g}{u} (solid line): " + "; ".join(parts) + "."
    ))
    return np.asarray(axes)


# --------------------------------------------------------------------------------------------
# Influential clusters
# --------------------------------------------------------------------------------------------
def cluster_influence_plot(influence: pd.DataFrame, ax=None, *, column: str = "cooks_distance",
                           threshold: float | None = None,
                           cluster_label: str = "cluster") -> Axes:
    r"""Leave-one-cluster-out Cook's distance of every cluster, with a reference line.

    Clusters are sorted by their distance (largest at the top), drawn as lollipops; those above
    the reference line are marked with a triangle as well as a different colour. The default
    reference is :math:`4/G` for :math:`G` clusters, the rule of thumb of the R package
    influence.ME.

    Parameters
    ----------
    influence : pandas.DataFrame
        Indexed by cluster, with a column ``cooks_distance`` (as returned by
        ``lmmcourse.stats.cluster_influence``).
    ax : matplotlib Axes, optional
        New figure when None, 0.22 in tall per cluster.
    column : str
        Column to plot.
    threshold : float, optional
        Reference line; :math:`4/G` by default.
    cluster_label : str
        Name of the clusters for the axis label (e.g. ``"clinic"``).

    Returns
    -------
    matplotlib Axes

    References
    ----------
    Nieuwenhuis, R., te Grotenhuis, M. & Pelzer, B. (2012). influence.ME: tools for detecting
    influential data in mixed effects models. *The R Journal* 4(2), 38-47.
    Cook, R. D. (1977). Detection of influential observation in linear regression.
    *Technometrics* 19, 15-18.
    """
    if not isinstance(influence, pd.DataFrame) or column not in influence.columns:
        raise ValueError(f"cluster_influence_plot needs a DataFrame indexed by cluster with a "
                         f"column {column!r}, as returned by lmmcourse.stats.cluster_influence")
    dist = influence[column].astype(float).dropna()
    if dist.empty:
        raise ValueError(f"column {column!r} has no finite values")
    if (dist < 0).any():
        raise ValueError(f"Cook's distances cannot be negative; check column {column!r}")
    n = len(dist)
    thr = 4.0 / n if threshold is None else float(threshold)
    dist = dist.sort_values(ascending=True, kind="mergesort")  # largest drawn at the top
    pos = np.arange(n)
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(6.4, _height(n)))
    blue, _orange, _green, verm = palette(4)
    above = dist.to_numpy() > thr
    ax.hlines(pos, 0, dist.to_numpy(), color="0.5", linewidth=1.2)
    ax.plot(dist.to_numpy()[~above], pos[~above], "o", color=blue, markeredgecolor="k",
            markersize=6, linestyle="none", label="below the reference", gid="below")
    ax.plot(dist.to_numpy()[above], pos[above], "^", color=verm, markeredgecolor="k",
            markersize=8, linestyle="none", label="above the reference", gid="above")
    ref = "4/" + str(n) if threshold is None else "reference"
    ax.axvline(thr, color="0.2", linestyle="--", linewidth=1.2, label=f"{ref} = {thr:.3f}",
               gid="threshold")
    ax.set_yticks(pos, [str(g) for g in dist.index])
    ax.set_ylim(-0.7, n - 0.3)
    ax.set_xlim(0, max(dist.max(), thr) * 1.1)
    ax.set_xlabel("Cook's distance, leaving the cluster out (unitless)")
    ax.set_ylabel(f"{cluster_label} (sorted)")
    ax.set_title(f"Influence of each {cluster_label} on the fixed effects")
    ax.legend(loc="lower right", fontsize=8, framealpha=0.9)
    top = dist.iloc[::-1]
    flagged = list(top.index[top.to_numpy() > thr])
    flag_txt = (f"{len(flagged)} above it: " + ", ".join(f"{g} ({top[g]:.3f})" for g in flagged)
                if flagged else "none above it")
    return _finish(ax, (
        f"Cook's distance of each of {n} {cluster_label}s when it is left out, sorted, largest "
        f"{top.index[0]} ({top.iloc[0]:.3f}), median {dist.median():.3f}; dashed reference "
        f"line at {thr:.3f}, {flag_txt}."
    ))
