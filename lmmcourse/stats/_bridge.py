r"""Bridges to survey and epidemiological practice: the design effect of clustering, and one
coefficient under the usual ways of handling clustered data."""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["design_effect", "estimator_table"]


def design_effect(cluster_sizes, icc: float, *, method: str = "mean",
                  n_clusters: int | None = None) -> dict:
    r"""Design effect of cluster sampling and the effective sample size.

    With clusters of :math:`m` observations and intraclass correlation :math:`\rho`, the
    variance of a mean (or of the effect of a cluster-level exposure) is inflated by

    .. math:: \text{DEFF} = 1 + (m - 1)\rho

    relative to :math:`n` independent observations (Kish 1965), so the data carry as much
    information as :math:`n_\text{eff} = n / \text{DEFF}` independent ones. With unequal
    cluster sizes ``method="mean"`` uses the mean size :math:`\bar m`, and ``method="weighted"``
    the size-weighted mean :math:`\tilde m = \sum_j m_j^2 / \sum_j m_j`, which equals
    :math:`(1 + \text{cv}^2)\bar m` with :math:`\text{cv}` the coefficient of variation of the
    sizes (population SD), i.e. Eldridge et al.'s (2006) formula
    :math:`1 + ((\text{cv}^2 + 1)\bar m - 1)\rho`. The weighted form is never smaller: unequal
    clusters lose more information.

    Parameters
    ----------
    cluster_sizes : int, float or array_like
        One size (all clusters equal; give ``n_clusters`` to get :math:`n`) or the size of
        every cluster, e.g. ``data.groupby("clinic_id").size()``.
    icc : float
        Intraclass correlation, in [0, 1] (e.g. from :func:`icc`).
    method : {"mean", "weighted"}
    n_clusters : int, optional
        Number of clusters when ``cluster_sizes`` is a single number.

    Returns
    -------
    dict
        ``design_effect``, ``cluster_size`` (the :math:`m` used), ``n`` (observations; NaN if
        unknown), ``effective_n`` (:math:`n/\text{DEFF}`), ``icc``, ``method``.

    Raises
    ------
    ValueError
        For an ICC outside [0, 1], sizes below 1, or an unknown method.

    References
    ----------
    Kish, L. (1965). *Survey Sampling*. Wiley, section 5.4.
    Eldridge, S. M., Ashby, D. & Kerry, S. (2006). Sample size for cluster randomized trials:
    effect of coefficient of variation of cluster size and analysis method. *International
    Journal of Epidemiology* 35, 1292-1300.

    Examples
    --------
    >>> design_effect(20, 0.05, n_clusters=10)["design_effect"]
    1.95
    """
    from ._display import LmerResult

    icc = float(icc)
    if not 0 <= icc <= 1:
        raise ValueError(f"icc must lie in [0, 1], got {icc}")
    sizes = np.atleast_1d(np.asarray(cluster_sizes, dtype=float))
    if sizes.size == 0 or np.any(~np.isfinite(sizes)) or np.any(sizes < 1):
        raise ValueError("cluster sizes must be numbers of at least 1 (observations per cluster)")
    if sizes.size == 1:
        m = float(sizes[0])
        n = m * n_clusters if n_clusters is not None else float("nan")
    else:
        if n_clusters is not None and n_clusters != sizes.size:
            raise ValueError(
                f"n_clusters={n_clusters} disagrees with the {sizes.size} cluster sizes given")
        n = float(sizes.sum())
        if method == "mean":
            m = float(sizes.mean())
        elif method == "weighted":
            m = float(np.sum(sizes**2) / np.sum(sizes))
        else:
            raise ValueError(f"method must be 'mean' or 'weighted', got {method!r}")
    if method not in ("mean", "weighted"):
        raise ValueError(f"method must be 'mean' or 'weighted', got {method!r}")
    deff = 1.0 + (m - 1.0) * icc
    return LmerResult(design_effect=deff, cluster_size=m, n=n, effective_n=n / deff, icc=icc,
                      method=method)


def _within_varies(x, codes):
    sums = np.bincount(codes, weights=x)
    counts = np.bincount(codes)
    dev = x - (sums / counts)[codes]
    return bool(np.sqrt(np.mean(dev**2)) > 1e-10 * max(1.0, float(np.sqrt(np.mean(x**2)))))


def estimator_table(data: pd.DataFrame, formula: str, groups: str, term: str) -> pd.DataFrame:
    r"""One coefficient and its standard error under five analyses of clustered data.

    All rows are fitted with statsmodels to the same complete rows of ``data``:

    ``OLS``
        ordinary least squares, model-based SE :math:`\sqrt{s^2[(X'X)^{-1}]_{jj}}`: ignores the
        clustering; its SE is wrong in either direction (too small for cluster-level
        covariates, often too large for covariates that vary within clusters).
    ``OLS, cluster-robust SE``
        the same estimate with the sandwich SE
        :math:`(X'X)^{-1}\bigl[\sum_g X_g'e_ge_g'X_g\bigr](X'X)^{-1}` times
        :math:`\frac{G}{G-1}\frac{N-1}{N-K}` (statsmodels' ``cov_type="cluster"``, Stata's
        CR1): valid with many clusters whatever the correlation within them.
    ``GEE (exchangeable)``
        generalised estimating equations with a Gaussian family and an exchangeable working
        correlation, robust (sandwich) SE (Liang & Zeger 1986): the population-average effect.
    ``Fixed effects (within)``
        OLS with one dummy per cluster (the within estimator), model-based SE: uses only
        within-cluster variation, so it is NaN for a cluster-level term (the ``note`` says so);
        it is unbiased even when the clusters' effects are correlated with the covariates.
    ``Mixed model (REML)``
        random-intercept linear mixed model fitted by REML (:func:`fit_tight`), SE from
        :math:`(\sum_g X_g'\hat V_g^{-1}X_g)^{-1}` (lme4's ``vcov``).

    For a linear model with a random intercept, GEE (exchangeable) and the mixed model estimate
    the same coefficients; the robust SEs protect against a wrong working correlation, the
    mixed model's SEs are more efficient when its assumptions hold.

    Parameters
    ----------
    data : pandas.DataFrame
    formula : str
        Fixed-effects formula, e.g. ``"sbp ~ age + clinic_urban"``.
    groups : str
        Cluster column.
    term : str
        Coefficient name as statsmodels writes it (e.g. ``"age"``, ``"smoker[T.Yes]"``); the
        name of a two-level categorical variable (``"smoker"``) stands for its one dummy.

    Returns
    -------
    pandas.DataFrame
        Index: the five analyses; columns ``estimate``, ``std_error``, ``note``; ``attrs``:
        ``term``, ``n_obs``, ``n_clusters``.

    Raises
    ------
    KeyError
        If ``term`` is not a coefficient of the model (the message lists them).
    ValueError
        If ``groups`` is not a column of ``data``.

    References
    ----------
    Liang, K.-Y. & Zeger, S. L. (1986). Longitudinal data analysis using generalized linear
    models. *Biometrika* 73, 13-22.
    Cameron, A. C. & Miller, D. L. (2015). A practitioner's guide to cluster-robust inference.
    *Journal of Human Resources* 50, 317-372.
    """
    import statsmodels.api as sm
    import statsmodels.formula.api as smf

    from ._core import model_arrays
    from ._display import lmer_frame
    from ._fit import fit_tight
    from ._hausman import _gls_cov

    if groups not in data.columns:
        raise ValueError(f"groups={groups!r} is not a column of the data")
    ols = smf.ols(formula, data).fit()
    names = list(ols.model.exog_names)
    if term not in names:
        dummies = [n for n in names if n.startswith(f"{term}[")]
        if len(dummies) == 1:   # a two-level categorical: "clinic_urban" -> "clinic_urban[T.x]"
            term = dummies[0]
    if term not in names:
        raise KeyError(f"term {term!r} is not a coefficient of {formula!r}; the coefficients "
                       f"are {names}")
    rows_used = ols.model.data.row_labels
    frame = data.loc[rows_used].copy()
    frame = frame[frame[groups].notna()]
    if len(frame) != len(rows_used):
        ols = smf.ols(formula, frame).fit()
    _, codes = np.unique(frame[groups].to_numpy(), return_inverse=True)
    G = int(codes.max()) + 1
    out = {}
    out["OLS"] = (ols.params[term], ols.bse[term], "ignores clustering")
    robust = smf.ols(formula, frame).fit(cov_type="cluster", cov_kwds={"groups": codes})
    out["OLS, cluster-robust SE"] = (robust.params[term], robust.bse[term],
                                     f"CR1 sandwich over {G} clusters")
    gee = smf.gee(formula, groups, frame, cov_struct=sm.cov_struct.Exchangeable(),
                  family=sm.families.Gaussian()).fit()
    out["GEE (exchangeable)"] = (gee.params[term], gee.bse[term],
                                 "robust SE; population-average effect")
    X = np.asarray(ols.model.exog, dtype=float)
    within = [j for j in range(X.shape[1]) if _within_varies(X[:, j], codes)]
    if names.index(term) in within:
        # LSDV: the covariates that vary within clusters plus one dummy per cluster (the
        # intercept and cluster-level columns are absorbed by the dummies)
        dummies = np.eye(G)[codes]
        lsdv = sm.OLS(np.asarray(ols.model.endog, dtype=float),
                      np.column_stack([X[:, within], dummies])).fit()
        k = within.index(names.index(term))
        out["Fixed effects (within)"] = (lsdv.params[k], lsdv.bse[k],
                                         "within-cluster variation only")
    else:
        out["Fixed effects (within)"] = (
            np.nan, np.nan,
            "not estimable: constant within clusters (absorbed by the cluster effects)")
    mixed = fit_tight(smf.mixedlm(formula, frame, groups=groups))
    arr = model_arrays(mixed)
    j = arr.fe_names.index(term)
    out["Mixed model (REML)"] = (arr.beta[j], float(np.sqrt(_gls_cov(arr)[j, j])),
                                 "random intercept; model-based SE")
    table = pd.DataFrame.from_dict(out, orient="index",
                                   columns=["estimate", "std_error", "note"])
    table[["estimate", "std_error"]] = table[["estimate", "std_error"]].astype(float)
    table.attrs.update(term=term, n_obs=int(len(frame)), n_clusters=G)
    return lmer_frame(table, kind="estimates", header=f"Coefficient of {term}")
