r"""Small seeded simulators for the lesson's demonstrations.

All simulators use the one-way random-intercept model

.. math:: y_{ij} = \mu + u_j + e_{ij}, \quad u_j \sim N(0, \sigma^2_u),
          \quad e_{ij} \sim N(0, \sigma^2_e),

for clusters :math:`j = 1, \dots, n_{groups}` of sizes :math:`m_j`, and take an explicit ``seed``
(:func:`numpy.random.default_rng`), so a notebook rerun reproduces every number.

References
----------
Searle, S. R., Casella, G. & McCulloch, C. E. (1992). *Variance Components*. Wiley. (ANOVA,
ML and REML estimators of the one-way model, chapters 3-6.)
Self, S. G. & Liang, K.-Y. (1987). Asymptotic properties of maximum likelihood estimators and
likelihood ratio tests under nonstandard conditions. *JASA* 82, 605-610.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from .data import SEEDS, negative_anova_example, one_way
from .data._sets import _check_var, _sizes

#: Seed for which :func:`negative_anova_example` gives a negative ANOVA estimate (kept for
#: existing code; the seeds of every generator live in :data:`lmmcourse.data.SEEDS`).
NEGATIVE_ANOVA_SEED = SEEDS["negative_anova"]

__all__ = [
    "NEGATIVE_ANOVA_SEED",
    "boundary_lrt_null",
    "ml_reml_bias",
    "negative_anova_example",
    "one_way",
    "one_way_reml_profile",
]


def _one_way_batch(rng, sizes, sigma2_u, sigma2_e, n_sim):
    """``n_sim`` one-way data sets at once: array of shape (n_sim, N)."""
    g = np.repeat(np.arange(sizes.size), sizes)
    u = rng.normal(0.0, np.sqrt(sigma2_u), (n_sim, sizes.size))
    return u[:, g] + rng.normal(0.0, np.sqrt(sigma2_e), (n_sim, g.size)), g


def ml_reml_bias(n_groups: int, m, sigma2_u: float, sigma2_e: float, n_sim: int,
                 seed, engine: str = "statsmodels") -> pd.DataFrame:
    r"""ML and REML estimates of :math:`\sigma^2_u` over repeated one-way data sets.

    ML ignores the degree of freedom used to estimate :math:`\mu`, so with few clusters its
    estimate of :math:`\sigma^2_u` is biased downwards; REML corrects this (for balanced data
    with a positive ANOVA estimate, REML equals the unbiased ANOVA estimator
    :math:`(MSB - MSW)/m`, and ML is smaller).

    Parameters
    ----------
    n_groups : int
        Number of clusters.
    m : int or array_like of int
        Cluster size(s).
    sigma2_u, sigma2_e : float
        True variances.
    n_sim : int
        Number of replicates.
    seed : int or numpy.random.Generator
        Seed.
    engine : {"statsmodels", "profile"}
        ``"statsmodels"`` fits each replicate twice with ``MixedLM`` (``reml=False`` and
        ``reml=True``), starting from the ANOVA estimates (truncated at a small positive value);
        convergence warnings are caught, not shown, and counted. About 10-30 ms per fit, so
        ``n_sim=200`` takes several seconds. ``"profile"`` maximises the exact profile ML and
        REML likelihoods (:func:`one_way_reml_profile`) for all replicates at once, in
        milliseconds; its warning counts are 0.

    Returns
    -------
    pandas.DataFrame
        One row per replicate: ``sim``, ``sigma2_u_ml``, ``sigma2_u_reml``, ``sigma2_e_ml``,
        ``sigma2_e_reml``, ``warnings_ml`` and ``warnings_reml`` (number of
        ``ConvergenceWarning`` raised by each fit).

    References
    ----------
    Patterson, H. D. & Thompson, R. (1971). Recovery of inter-block information when block
    sizes are unequal. *Biometrika* 58, 545-554.
    """
    if engine not in ("statsmodels", "profile"):
        raise ValueError(f"engine must be 'statsmodels' or 'profile', got {engine!r}")
    sizes = _sizes(n_groups, m)
    n_sim = int(n_sim)
    rng = np.random.default_rng(seed)
    ys, g = _one_way_batch(rng, sizes, _check_var("sigma2_u", sigma2_u),
                           _check_var("sigma2_e", sigma2_e), n_sim)
    ybar, ssw = _group_stats(ys, g, sizes)
    out = np.zeros((n_sim, 6))
    if engine == "profile":
        out[:, 0], out[:, 2] = _profile_estimates(ybar, ssw, sizes, reml=False)
        out[:, 1], out[:, 3] = _profile_estimates(ybar, ssw, sizes, reml=True)
    else:
        from statsmodels.regression.mixed_linear_model import MixedLM, MixedLMParams
        from statsmodels.tools.sm_exceptions import ConvergenceWarning

        k, n = sizes.size, sizes.sum()
        exog = np.ones((n, 1))
        grand = ys.mean(1)
        msb = (sizes * (ybar - grand[:, None]) ** 2).sum(1) / (k - 1)
        msw = ssw / (n - k)
        n0 = (n - (sizes**2).sum() / n) / (k - 1)
        for i, y in enumerate(ys):
            ratio = max((msb[i] - msw[i]) / n0, 0.05 * msw[i]) / msw[i]
            start = MixedLMParams.from_components(fe_params=np.array([grand[i]]),
                                                  cov_re=np.array([[ratio]]))
            for col, reml in enumerate((False, True)):
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always")
                    res = MixedLM(y, exog, groups=g).fit(reml=reml, start_params=start)
                out[i, col] = float(np.asarray(res.cov_re)[0, 0])
                out[i, 2 + col] = res.scale
                out[i, 4 + col] = sum(issubclass(w.category, ConvergenceWarning) for w in caught)
    return pd.DataFrame(
        {
            "sim": np.arange(n_sim),
            "sigma2_u_ml": out[:, 0],
            "sigma2_u_reml": out[:, 1],
            "sigma2_e_ml": out[:, 2],
            "sigma2_e_reml": out[:, 3],
            "warnings_ml": out[:, 4].astype(int),
            "warnings_reml": out[:, 5].astype(int),
        }
    )


# --------------------------------------------------------------------------------------------
# REML profile log-likelihood of the intercept-only one-way model (fast path)
# --------------------------------------------------------------------------------------------
def _reml_profile(gamma, ybar, ss_within, sizes, reml=True):
    r"""REML (or ML) log-likelihood profiled over :math:`\mu` and :math:`\sigma^2_e`.

    ``gamma`` (ratio :math:`\sigma^2_u/\sigma^2_e`) broadcasts against the leading axes of
    ``ybar`` (shape ``(..., n_groups)``) and ``ss_within`` (shape ``(...)``).
    """
    n = sizes.sum()
    gamma = np.asarray(gamma, dtype=float)[..., None]
    w = sizes / (1.0 + gamma * sizes)  # weights m_j / (1 + gamma m_j)
    xvx = w.sum(-1)  # X'V^{-1}X for X = 1
    mu = (w * ybar).sum(-1) / xvx
    quad = ss_within + (w * (ybar - mu[..., None]) ** 2).sum(-1)  # r'V^{-1}r
    logdet_v = np.log1p(gamma * sizes).sum(-1)
    if not reml:
        return -0.5 * n * (np.log(2 * np.pi * quad / n) + 1.0) - 0.5 * logdet_v
    s2 = quad / (n - 1)
    return -0.5 * (n - 1) * (np.log(2 * np.pi * s2) + 1.0) - 0.5 * logdet_v - 0.5 * np.log(xvx)


def one_way_reml_profile(y, group) -> dict:
    r"""Maximise the REML log-likelihood of the one-way random-intercept model.

    With :math:`\gamma = \sigma^2_u / \sigma^2_e`, :math:`V_j = I + \gamma J_{m_j}` and
    :math:`\sigma^2_e` profiled out (:math:`\hat\sigma^2_e = r'V^{-1}r/(N - 1)`),

    .. math:: \ell_R(\gamma) = -\frac{N - 1}{2}\left[\log\left(2\pi\hat\sigma^2_e\right) + 1\right]
              - \frac12 \sum_j \log(1 + \gamma m_j) - \frac12 \log \sum_j \frac{m_j}{1 + \gamma m_j},

    maximised over :math:`\gamma \ge 0` (at :math:`\gamma = 0` it is the REML log-likelihood of
    the linear model without clusters). This is the quantity statsmodels reports as ``llf`` for
    ``MixedLM(y, ones, groups).fit(reml=True)``.

    Parameters
    ----------
    y : array_like
        Responses.
    group : array_like
        Cluster labels, same length as ``y``.

    Returns
    -------
    dict
        ``llf`` (maximised :math:`\ell_R`), ``llf0`` (:math:`\ell_R(0)`), ``sigma2_u``,
        ``sigma2_e`` and ``mu`` at the maximum.

    References
    ----------
    Harville, D. A. (1977). Maximum likelihood approaches to variance component estimation
    and to related problems. *JASA* 72, 320-338.
    """
    y = np.asarray(y, dtype=float)
    codes, _ = pd.factorize(pd.Series(group), sort=True)
    sizes = np.bincount(codes)
    ybar = np.bincount(codes, weights=y) / sizes
    ssw = float(((y - ybar[codes]) ** 2).sum())
    gam, llf = _maximise_profile(ybar[None, :], np.array([ssw]), sizes)
    gam, llf = float(gam[0]), float(llf[0])
    w = sizes / (1 + gam * sizes)
    mu = float((w * ybar).sum() / w.sum())
    s2e = float((ssw + (w * (ybar - mu) ** 2).sum()) / (sizes.sum() - 1))
    llf0 = float(_reml_profile(0.0, ybar[None, :], np.array([ssw]), sizes)[0])
    return {"llf": llf, "llf0": llf0, "sigma2_u": gam * s2e, "sigma2_e": s2e, "mu": mu}


def _maximise_profile(ybar, ssw, sizes, reml=True, n_grid: int = 121, n_golden: int = 60):
    """Vectorised maximisation of :func:`_reml_profile` over gamma >= 0, one per row."""
    grid = np.concatenate([[0.0], np.geomspace(1e-4, 1e4, n_grid - 1)])
    vals = _reml_profile(grid[:, None], ybar[None], ssw[None], sizes, reml)  # (n_grid, n_sim)
    best = vals.argmax(0)
    lo = grid[np.maximum(best - 1, 0)]
    hi = grid[np.minimum(best + 1, n_grid - 1)]
    # golden-section search inside the bracket around the best grid point
    r = (np.sqrt(5) - 1) / 2
    a, b = lo.copy(), hi.copy()
    c, d = b - r * (b - a), a + r * (b - a)
    fc = _reml_profile(c, ybar, ssw, sizes, reml)
    fd = _reml_profile(d, ybar, ssw, sizes, reml)
    for _ in range(n_golden):
        left = fc > fd  # maximum lies in [a, d]
        b = np.where(left, d, b)
        a = np.where(left, a, c)
        c_new = b - r * (b - a)
        d_new = a + r * (b - a)
        c, d = c_new, d_new
        fc = _reml_profile(c, ybar, ssw, sizes, reml)
        fd = _reml_profile(d, ybar, ssw, sizes, reml)
    gam = (a + b) / 2
    f = _reml_profile(gam, ybar, ssw, sizes, reml)
    # the grid point (possibly gamma = 0, the boundary) may still be the best
    fbest = vals[best, np.arange(vals.shape[1])]
    keep_grid = fbest >= f
    return np.where(keep_grid, grid[best], gam), np.maximum(f, fbest)


def _profile_estimates(ybar, ssw, sizes, reml):
    """Exact ML/REML estimates (sigma2_u, sigma2_e) of many one-way data sets at once."""
    gam, _ = _maximise_profile(ybar, ssw, sizes, reml)
    w = sizes / (1.0 + gam[:, None] * sizes)
    mu = (w * ybar).sum(1) / w.sum(1)
    quad = ssw + (w * (ybar - mu[:, None]) ** 2).sum(1)
    s2e = quad / (sizes.sum() - (1 if reml else 0))
    return gam * s2e, s2e


def _group_stats(ys, g, sizes):
    """Group means (n_sim, n_groups) and within sums of squares (n_sim,) of stacked data."""
    onehot = np.zeros((g.size, sizes.size))
    onehot[np.arange(g.size), g] = 1.0
    ybar = ys @ onehot / sizes
    ssw = ((ys - ybar[:, g]) ** 2).sum(1)
    return ybar, ssw


def boundary_lrt_null(n_groups: int, m, sigma2_e: float, n_sim: int, seed) -> np.ndarray:
    r"""Null distribution of the REML likelihood-ratio statistic for :math:`H_0: \sigma^2_u = 0`.

    Data are simulated with :math:`\sigma^2_u = 0`; each replicate gets

    .. math:: LRT = 2\,[\ell_R(\hat\gamma) - \ell_R(0)], \qquad
              \ell_R(0) = -\frac{N - p}{2}\left[\log\frac{2\pi RSS}{N - p} + 1\right]
              - \frac12 \log|X'X|,

    the REML log-likelihood of the random-intercept model against that of the linear model
    without clusters (:math:`p = 1`, :math:`X = 1`), clipped at 0. Both are computed by the exact
    one-dimensional profile (:func:`one_way_reml_profile`; equal to statsmodels' ``llf``), so
    thousands of replicates take well under a second. Because :math:`\sigma^2_u = 0` lies on the
    boundary, about half the statistics are exactly 0 and the rest behave like
    :math:`\chi^2_1`: the reference distribution is the 50:50 mixture
    :math:`\tfrac12\chi^2_0 + \tfrac12\chi^2_1` (Self & Liang, 1987).

    Parameters
    ----------
    n_groups : int
        Number of clusters.
    m : int or array_like of int
        Cluster size(s).
    sigma2_e : float
        Residual variance (the LRT does not depend on it; kept for a realistic scale).
    n_sim : int
        Number of replicates.
    seed : int or numpy.random.Generator
        Seed.

    Returns
    -------
    numpy.ndarray
        ``n_sim`` LRT statistics, all >= 0.

    References
    ----------
    Self & Liang (1987), JASA 82, 605-610; Stram, D. O. & Lee, J. W. (1994). Variance components
    testing in the longitudinal mixed effects model. *Biometrics* 50, 1171-1177.
    """
    sizes = _sizes(n_groups, m)
    rng = np.random.default_rng(seed)
    ys, g = _one_way_batch(rng, sizes, 0.0, _check_var("sigma2_e", sigma2_e), int(n_sim))
    ybar, ssw = _group_stats(ys, g, sizes)
    _, llf = _maximise_profile(ybar, ssw, sizes)
    llf0 = _reml_profile(np.zeros(int(n_sim)), ybar, ssw, sizes)
    return np.clip(2.0 * (llf - llf0), 0.0, None)
