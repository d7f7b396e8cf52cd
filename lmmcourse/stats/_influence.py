r"""Influence of whole clusters on the fixed effects: leave-one-cluster-out refits and Cook's
distance, as lme4's ``cooks.distance(influence(m, groups = "<group>"))``."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from ._confint import _PLS, _check_supported
from ._core import _chol_psd, validate_result

__all__ = ["cluster_influence"]


def cluster_influence(result) -> pd.DataFrame:
    r"""Leave-one-cluster-out influence of each cluster on the fixed effects.

    For every cluster :math:`c` the model is refitted without it, by the same criterion (REML
    or ML) as ``result``, giving :math:`\hat\beta_{(-c)}`. The change
    :math:`\Delta_c = \hat\beta_{(-c)} - \hat\beta` is reported per coefficient, and Cook's
    distance is computed exactly as lme4's ``cooks.distance`` of ``influence(m, groups = g)``:

    .. math:: D_c = \frac{J - p}{J\,p}\;\Delta_c'\,\widehat{\operatorname{Var}}(\hat\beta)^{-1}
              \,\Delta_c ,

    where :math:`J` is the number of clusters, :math:`p` the number of fixed effects and
    :math:`\widehat{\operatorname{Var}}(\hat\beta) = \hat\sigma^2 (X'\hat V^{-1}X)^{-1}` the
    model-based covariance of the fixed effects of the **full** fit (lme4's ``vcov(m)``; not
    statsmodels' ``cov_params()``, whose inverse Hessian also involves the variance parameters).
    The factor :math:`(J-p)/(J p)` comes from lme4's implementation (inherited from the car
    package); Cook's (1977) original scaling is :math:`1/p`, so ``cooks_distance * J / (J - p)``
    gives that one. Only the ranking and the relative sizes matter in practice: there is no
    exact cut-off, but a cluster whose :math:`D_c` stands out from the rest (a common screening
    rule is :math:`D_c > 4/J`) deserves a look: check its data, refit without it and report
    whether the conclusions change, rather than dropping it silently.

    Parameters
    ----------
    result : MixedLMResults
        A converged fit with one grouping factor (``groups=``, optional ``re_formula=``);
        uncorrelated random effects (``fit(free=...)`` with a diagonal pattern, R's
        ``(x || g)``) are refitted as uncorrelated.

    Returns
    -------
    pandas.DataFrame
        Indexed by cluster (in the order the clusters first appear in the data), columns
        ``cooks_distance``, ``n_obs`` (rows removed), then ``dfbeta_<name>`` for each fixed
        effect (:math:`\Delta_c`, statsmodels' names), and ``sigma`` (residual SD of the refit).

    Raises
    ------
    ValueError
        If the model has fewer than 3 clusters, or if leaving out a cluster makes a fixed effect
        inestimable (e.g. a cluster-level dummy that only that cluster has): the message names
        the cluster.

    References
    ----------
    Cook, R. D. (1977). Detection of influential observation in linear regression.
    *Technometrics* 19, 15-18.
    Demidenko, E. & Stukel, T. A. (2005). Influence analysis for linear mixed-effects models.
    *Statistics in Medicine* 24, 893-909.
    Fox, J. & Weisberg, S. (2019). *An R Companion to Applied Regression*, 3rd ed., ch. 8
    (``influence.merMod``, now in lme4).
    """
    from ._display import lmer_frame

    inner = validate_result(result)
    diagonal = _check_supported(inner)
    model = inner.model
    reml = bool(inner.reml)
    X = np.asarray(model.exog, dtype=float)
    Z = np.asarray(model.exog_re, dtype=float)
    y = np.asarray(model.endog, dtype=float)
    groups = np.asarray(model.groups)
    labels = pd.unique(groups)
    J = len(labels)
    n, p = X.shape
    if J < 3:
        raise ValueError(f"cluster influence needs at least 3 clusters, the model has {J}")
    _, codes = np.unique(groups, return_inverse=True)
    full = _PLS(X, Z, codes, y, diagonal)
    start = _chol_psd(np.asarray(inner.cov_re, dtype=float) / float(inner.scale))
    theta_hat, _ = full.fit(start[full.rows, full.cols], reml=reml)
    _, xtwx, beta_hat, prss = full.solve(full.lam(theta_hat))
    sigma2 = prss / (n - p if reml else n)
    vcov = sigma2 * np.linalg.inv(xtwx)
    vcov_inv = np.linalg.inv(vcov)
    names = [str(c) for c in model.exog_names]
    rows = []
    for lab in labels:
        keep = groups != lab
        Xk = X[keep]
        if np.linalg.matrix_rank(Xk) < p:
            raise ValueError(
                f"without cluster {str(lab)!r} the fixed effects cannot all be estimated (a column of "
                "the design is then constant or collinear, e.g. a category only that cluster "
                "has); cluster influence is not defined for it. Merge rare categories first."
            )
        _, sub_codes = np.unique(groups[keep], return_inverse=True)
        pls = _PLS(Xk, Z[keep], sub_codes, y[keep], diagonal)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            theta, _ = pls.fit(theta_hat, reml=reml, polish=False, default_start=False)
        _, _, beta, prss_k = pls.solve(pls.lam(theta))
        nk = int(keep.sum())
        delta = beta - beta_hat
        rows.append([float(delta @ vcov_inv @ delta) * (J - p) / (J * p), n - nk, *delta,
                     float(np.sqrt(prss_k / (nk - p if reml else nk)))])
    cols = ["cooks_distance", "n_obs"] + [f"dfbeta_{nm}" for nm in names] + ["sigma"]
    frame = pd.DataFrame(rows, index=pd.Index(labels, name=_group_label(model)), columns=cols)
    frame["n_obs"] = frame["n_obs"].astype(int)
    frame.attrs.update(criterion="REML" if reml else "ML", n_clusters=J)
    return lmer_frame(frame, kind="anova")


def _group_label(model):
    from ._confint import _group_name

    return _group_name(model)
