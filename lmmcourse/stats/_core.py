"""Shared building blocks for inference on statsmodels ``MixedLM`` fits.

Everything here works one cluster at a time: with a single grouping factor the marginal covariance
of the response is block diagonal,

.. math:: V = \\operatorname{diag}(V_1, \\dots, V_J), \\qquad
          V_g = Z_g G Z_g' + \\sigma^2_e I_{m_g},

so no ``n x n`` matrix is ever formed.

Functions
---------
validate_result
    Check that an object is a converged statsmodels ``MixedLMResults`` and that its fixed effects
    are not the silent zeros of statsmodels issue 10239.
singular_components, check_singular
    lme4's ``isSingular`` rule on the relative (``cov_re / scale``) Cholesky factor.
model_arrays
    Per-cluster ``y_g, X_g, Z_g`` plus ``G``, ``sigma2``, ``beta`` and the linear variance
    structure.
is_reml
    Whether a fit used REML.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

__all__ = [
    "BoundaryFitWarning",
    "ModelArrays",
    "ZeroFixedEffectWarning",
    "check_singular",
    "is_reml",
    "model_arrays",
    "singular_components",
    "validate_result",
]

# statsmodels.MixedLM.get_fe_params treats eigenvalues of cov_re / scale below this as zero.
_SM_FE_TOL = 1e-10


class BoundaryFitWarning(UserWarning):
    """A random-effect variance is at (or numerically next to) zero: a singular fit."""


class ZeroFixedEffectWarning(UserWarning):
    """statsmodels returned fixed effects of exactly zero for a near-singular fit (issue 10239)."""


def _unwrap(result):
    """Return the bare ``MixedLMResults`` behind a results wrapper (or ``None``)."""
    from statsmodels.regression.mixed_linear_model import MixedLMResults

    inner = getattr(result, "_results", result)
    return inner if isinstance(inner, MixedLMResults) else None


def _describe(obj):
    cls = type(obj)
    return f"{cls.__module__}.{cls.__qualname__}"


def validate_result(result):
    """Check that ``result`` is a converged statsmodels mixed-model fit this package can use.

    Parameters
    ----------
    result : statsmodels.regression.mixed_linear_model.MixedLMResults
        A fitted model, as returned by ``smf.mixedlm(formula, data, groups=...).fit()``.

    Returns
    -------
    MixedLMResults
        The bare results object behind statsmodels' wrapper (``result._results``): the same
        estimates, with ``fe_params`` and ``cov_re`` as plain arrays.

    Raises
    ------
    TypeError
        If ``result`` is anything else (an unfitted model, an OLS result, a data frame ...).
    RuntimeError
        If the optimiser did not converge (``result.converged`` is False).
    NotImplementedError
        If the model has variance components (``vc_formula=``); only ``groups=`` with an optional
        ``re_formula=`` is supported.

    Warns
    -----
    ZeroFixedEffectWarning
        If statsmodels issue 10239 struck: the random-effect covariance collapsed so far that
        ``get_fe_params`` replaced its inverse by zeros, and every coefficient of a regressor that
        is constant within clusters was returned as exactly 0.0. The warning gives the correct GLS
        values; :func:`model_arrays` (and every function of this package) uses them.

    Notes
    -----
    Issue 10239: https://github.com/statsmodels/statsmodels/issues/10239 (statsmodels 0.15).
    """
    from statsmodels.regression.mixed_linear_model import MixedLM

    inner = _unwrap(result)
    if inner is None:
        hint = ""
        if isinstance(result, MixedLM):
            hint = " You passed the model itself: call .fit() on it first."
        raise TypeError(
            f"expected a fitted statsmodels MixedLMResults (from smf.mixedlm(...).fit()), got "
            f"{_describe(result)}.{hint}"
        )
    if not getattr(inner, "converged", False):
        detail = _nonconvergence_detail(inner)
        raise RuntimeError(
            "the mixed model did not converge (result.converged is False), so its estimates and "
            f"any test built on them are unreliable{detail}. statsmodels tries the optimisers in "
            "fit(method=...) in turn (default ['bfgs', 'lbfgs', 'cg']). Try another method= "
            "(e.g. method=['lbfgs'] or ['powell', 'lbfgs']), raise maxiter=, or rescale the "
            "response and covariates (centre them; express them in units that give variances "
            "near 1), then refit."
        )
    model = inner.model
    if getattr(model, "k_vc", 0):
        raise NotImplementedError(
            "models with variance components (vc_formula=) are not supported; fit the random "
            "effects with groups= and re_formula= instead."
        )
    _cov_mask(inner)  # NotImplementedError for a free= pattern this package cannot handle
    if _is_issue_10239(inner):
        arr = model_arrays(result, _validated=True)
        fe = np.asarray(inner.fe_params, dtype=float)
        zeros = [n for n, b in zip(arr.fe_names, fe, strict=True) if b == 0.0]
        fixed = ", ".join(f"{n} = {b:.6g}" for n, b in zip(arr.fe_names, arr.beta, strict=True))
        warnings.warn(
            "statsmodels returned fixed effects of exactly 0.0 for "
            f"{', '.join(zeros)} (statsmodels issue 10239): a random-effect variance collapsed to "
            "zero and statsmodels then discarded the between-cluster information, so the other "
            "coefficients are off too. The GLS estimates at this fit are "
            f"{fixed}; lmmcourse.stats uses those, but result.fe_params and result.summary() are "
            "wrong. Drop the degenerate random effect and refit (or fit with another method=).",
            ZeroFixedEffectWarning,
            stacklevel=2,
        )
    return inner


def _nonconvergence_detail(inner):
    """Recreate statsmodels' ConvergenceWarning text (|gradient| at the estimate) if possible."""
    parts = []
    retvals = getattr(inner, "mle_retvals", None) or {}
    if retvals.get("message"):
        parts.append(f"optimiser message: {retvals['message']}")
    try:
        model = inner.model
        packed = inner.params_object.get_packed(use_sqrt=model.use_sqrt, has_fe=False)
        grad = float(np.sqrt(np.sum(np.asarray(model.score(packed)) ** 2)))
        parts.append(
            f"statsmodels warned 'Gradient optimization failed, |grad| = {grad:f}' after the "
            "last optimiser it tried"
        )
    except Exception:  # the detail is a courtesy; never mask the real error
        pass
    return f" ({'; '.join(parts)})" if parts else ""


def _is_issue_10239(inner):
    """True when statsmodels zeroed cov_re^-1 in get_fe_params and some beta came out as 0.0."""
    fe = np.asarray(inner.fe_params, dtype=float)
    if not np.any(fe == 0.0) or inner.model.k_re == 0:
        return False
    cov_re_unscaled = np.asarray(inner.cov_re, dtype=float) / float(inner.scale)
    return bool(np.linalg.eigvalsh(cov_re_unscaled).min() < _SM_FE_TOL)


def is_reml(result):
    """Return True if ``result`` was fitted by REML, False for maximum likelihood.

    Parameters
    ----------
    result : MixedLMResults

    Returns
    -------
    bool
    """
    inner = _unwrap(result)
    if inner is None:
        raise TypeError(
            f"expected a fitted statsmodels MixedLMResults, got {_describe(result)}"
        )
    return bool(inner.reml)


def _chol_psd(a, tol=1e-12):
    """Lower Cholesky factor of a positive semi-definite matrix, with zero columns where singular.

    ``numpy.linalg.cholesky`` fails on a rank-deficient matrix; lme4's relative factor ``theta``
    then has a zero on the diagonal, which is exactly what we need to detect.
    """
    a = np.array(a, dtype=float)
    k = a.shape[0]
    low = np.zeros_like(a)
    scale = max(np.max(np.abs(np.diag(a))), 1.0)
    for j in range(k):
        d = a[j, j] - low[j, :j] @ low[j, :j]
        if d <= tol * scale:
            continue  # column j stays zero
        low[j, j] = np.sqrt(d)
        for i in range(j + 1, k):
            low[i, j] = (a[i, j] - low[i, :j] @ low[j, :j]) / low[j, j]
    return low


def _cov_mask(inner):
    """Boolean ``k x k`` lower-triangular mask of the free elements of G (and of lme4's Lambda).

    All ``True`` for correlated random effects; the diagonal only for uncorrelated ones (a fit
    with statsmodels' ``free=`` pattern, e.g. from ``fit_tight(..., correlated=False)``).
    """
    return _mask_of_result(inner)


def _component_names(inner):
    cov_re = inner.cov_re
    if isinstance(cov_re, pd.DataFrame):
        return [str(c) for c in cov_re.columns]
    return [str(c) for c in inner.model.data.exog_re_names]


def singular_components(result, tol=1e-4):
    r"""Random-effect components at the boundary, judged as lme4's ``isSingular`` does.

    With the relative covariance factor :math:`\theta` defined by
    :math:`\Lambda\Lambda' = G / \sigma^2_e` (:math:`\Lambda` lower triangular; ``cov_re / scale``
    in statsmodels), component :math:`i` is singular when :math:`\Lambda_{ii} < \text{tol}`. This
    catches a variance at zero and also a rank-deficient covariance matrix (a correlation of
    :math:`\pm 1` gives a zero on the diagonal of the factor). Unlike statsmodels' own boundary
    warning (absolute variance < 0.01), the rule does not depend on the units of the response.

    Parameters
    ----------
    result : MixedLMResults
        A fitted model.
    tol : float, default 1e-4
        Tolerance on the diagonal of the relative Cholesky factor (lme4's default).

    Returns
    -------
    list of str
        Names of the singular components, as in ``result.cov_re`` (statsmodels labels the random
        intercept with the name of the grouping variable). Empty for a regular fit.

    References
    ----------
    Bates, Maechler, Bolker & Walker (2015), Fitting linear mixed-effects models using lme4,
    *Journal of Statistical Software* 67(1), section 3.1; lme4 ``?isSingular``.
    """
    inner = _unwrap(result)
    if inner is None:
        validate_result(result)  # raises the TypeError
    if inner.model.k_re == 0:
        return []
    rel = np.asarray(inner.cov_re, dtype=float) / float(inner.scale)
    theta = _chol_psd(rel)
    names = _component_names(inner)
    return [names[i] for i in range(theta.shape[0]) if theta[i, i] < tol]


def check_singular(result, tol=1e-4, stacklevel=2):
    """Warn (``BoundaryFitWarning``) when the fit is singular; return the singular components.

    Parameters
    ----------
    result : MixedLMResults
    tol : float, default 1e-4
        See :func:`singular_components`.
    stacklevel : int, default 2
        Passed to :func:`warnings.warn`.

    Returns
    -------
    list of str
        As :func:`singular_components`.
    """
    names = singular_components(result, tol=tol)
    if names:
        inner = _unwrap(result)
        intercept = _component_names(inner)[0] if _has_re_intercept(inner) else None
        labels = [
            f"'{n}' (the random intercept)" if n == intercept else f"'{n}'" for n in names
        ]
        warnings.warn(
            f"singular (boundary) fit: random-effect component(s) {', '.join(labels)} have a "
            f"variance of zero or a correlation of +-1 on the relative scale (lme4's isSingular, "
            f"tol={tol:g}). Small-sample tests are still computed, but the random-effects "
            "structure is probably too rich for the data: consider simplifying it.",
            BoundaryFitWarning,
            stacklevel=stacklevel,
        )
    return names


def _has_re_intercept(inner):
    exog_re = inner.model.exog_re
    return exog_re is not None and bool(np.all(exog_re[:, 0] == 1.0))


@dataclass(frozen=True)
class ModelArrays:
    r"""Per-cluster arrays and the variance structure of a fitted one-factor mixed model.

    The covariance of cluster ``g`` is linear in the variance parameters
    :math:`\gamma = (\operatorname{vech}(G), \sigma^2_e)`:

    .. math:: V_g = \sum_r \gamma_r \left(Z_g\, dG_r\, Z_g' + [r = \text{residual}]\, I\right).

    Attributes
    ----------
    y, X, Z : list of ndarray
        Response, fixed-effects design and random-effects design of each cluster.
    groups : list
        Cluster labels, in the order of the lists.
    G : ndarray, shape (k, k)
        Random-effects covariance (absolute units, ``result.cov_re``).
    sigma2 : float
        Residual variance (``result.scale``).
    beta : ndarray, shape (p,)
        Fixed effects (the GLS solution at ``G``, ``sigma2``; equal to ``result.fe_params`` except
        when statsmodels issue 10239 zeroed some of them).
    fe_names, re_names : list of str
    var_params : list of (str, ndarray)
        One ``(name, dG)`` pair per free lower-triangle element of ``G`` (row by row; for
        uncorrelated random effects only the variances) and finally ``("sigma2_e", zeros)``;
        ``dG`` is the derivative of ``G`` with respect to that parameter.
    reml : bool
    cov_index : list of (int, int)
        Positions in ``G`` of the covariance parameters of ``var_params``.
    mask : ndarray of bool, shape (k, k)
        Free elements of ``G`` (lower triangle).
    """

    y: list
    X: list
    Z: list
    groups: list
    G: np.ndarray
    sigma2: float
    beta: np.ndarray
    fe_names: list
    re_names: list
    var_params: list = field(repr=False)
    reml: bool = True
    cov_index: list = field(default=None, repr=False)
    mask: np.ndarray = field(default=None, repr=False)

    @property
    def n_obs(self):
        return int(sum(len(v) for v in self.y))

    @property
    def n_fe(self):
        return int(self.X[0].shape[1])

    @property
    def n_cov(self):
        """Number of random-effect covariance parameters (excluding the residual variance)."""
        return len(self.var_params) - 1

    @property
    def gamma(self):
        """Variance parameters in the order of ``var_params``."""
        if self.cov_index is None:
            rows, cols = np.tril_indices(self.G.shape[0])
        else:
            rows = np.array([i for i, _ in self.cov_index], dtype=int)
            cols = np.array([j for _, j in self.cov_index], dtype=int)
        return np.concatenate([self.G[rows, cols], [self.sigma2]])

    @property
    def var_names(self):
        return [name for name, _ in self.var_params]


def _var_param_names(k):
    if k == 1:
        return ["sigma2_u"]
    out = []
    sep = "_" if k > 10 else ""
    for i, j in zip(*np.tril_indices(k), strict=True):
        out.append(f"sigma2_u{i}" if i == j else f"sigma_u{j}{sep}{i}")
    return out


def model_arrays(result, _validated=False):
    """Split a fitted model into per-cluster arrays and its variance-parameter structure.

    Parameters
    ----------
    result : MixedLMResults
        A converged fit with one grouping factor (``groups=``, optional ``re_formula=``).

    Returns
    -------
    ModelArrays
        See :class:`ModelArrays`. Variance parameters are named ``sigma2_u`` (random intercept
        only) or ``sigma2_u0, sigma_u01, sigma2_u1, ...`` (lower triangle of ``G`` row by row),
        then ``sigma2_e``.
    """
    if not _validated:
        validate_result(result)
    inner = _unwrap(result)
    model = inner.model
    endog = np.asarray(model.endog, dtype=float)
    exog = np.asarray(model.exog, dtype=float)
    exog_re = np.asarray(model.exog_re, dtype=float)
    idx = [np.asarray(model.row_indices[g]) for g in model.group_labels]
    y = [endog[i] for i in idx]
    X = [exog[i] for i in idx]
    Z = [exog_re[i] for i in idx]
    G = np.array(np.asarray(inner.cov_re, dtype=float), copy=True)
    sigma2 = float(inner.scale)
    k = G.shape[0]
    mask = _cov_mask(inner)
    var_params = []
    cov_index = []
    for name, (i, j) in zip(_var_param_names(k), zip(*np.tril_indices(k), strict=True),
                            strict=True):
        if not mask[i, j]:
            continue  # a covariance fixed at 0 (uncorrelated random effects) is no parameter
        cov_index.append((int(i), int(j)))
        dG = np.zeros((k, k))
        dG[i, j] = dG[j, i] = 1.0
        var_params.append((name, dG))
    var_params.append(("sigma2_e", np.zeros((k, k))))
    beta = np.asarray(inner.fe_params, dtype=float).copy()
    if _is_issue_10239(inner):
        # statsmodels' fe_params and scale are both wrong; the relative covariance is what the
        # optimiser found. Redo the profiled GLS step: beta, then scale = r'V_rel^-1 r / (n - p).
        rel = G / sigma2
        beta, quad = _gls_beta(y, X, Z, rel)
        n, p = len(endog), exog.shape[1]
        sigma2 = float(quad / (n - p if inner.reml else n))
        G = rel * sigma2
    return ModelArrays(
        y=y, X=X, Z=Z, groups=list(model.group_labels), G=G, sigma2=sigma2, beta=beta,
        fe_names=list(model.exog_names), re_names=_component_names(inner),
        var_params=var_params, reml=bool(inner.reml), cov_index=cov_index, mask=mask,
    )


def _gls_beta(y, X, Z, rel):
    """GLS fixed effects for V_g = Z_g rel Z_g' + I (rel may be singular), and r'V^-1 r."""
    p = X[0].shape[1]
    xtvx = np.zeros((p, p))
    xtvy = np.zeros(p)
    chols = []
    for yg, Xg, Zg in zip(y, X, Z, strict=True):
        c = np.linalg.cholesky(Zg @ rel @ Zg.T + np.eye(len(yg)))
        chols.append(c)
        Xs = np.linalg.solve(c, Xg)
        xtvx += Xs.T @ Xs
        xtvy += Xs.T @ np.linalg.solve(c, yg)
    beta = np.linalg.solve(xtvx, xtvy)
    quad = 0.0
    for yg, Xg, c in zip(y, X, chols, strict=True):
        rs = np.linalg.solve(c, yg - Xg @ beta)
        quad += rs @ rs
    return beta, quad


# --------------------------------------------------------------------------------------------
# Covariance patterns: which elements of lme4's Lambda are free (correlated or (x || g) slopes)
# --------------------------------------------------------------------------------------------
def _pattern_mask(model, free=None, correlated=None):
    """Boolean ``k x k`` lower-triangular mask of the free elements of lme4's Lambda.

    ``free`` is a statsmodels ``MixedLMParams`` pattern (as for ``MixedLM.fit(free=...)``);
    ``correlated=False`` means a diagonal covariance (R's ``(x || g)``).
    """
    k = int(model.k_re)
    full = np.tril(np.ones((k, k), dtype=bool))
    if free is not None and correlated is not None:
        raise ValueError("give either free= or correlated=, not both")
    if correlated is False:
        return np.eye(k, dtype=bool)
    if free is None:
        return full
    return _mask_from_free(free, k, int(model.k_fe))


def _mask_from_free(free, k, k_fe, strict=True):
    """The Lambda mask of a statsmodels ``free`` pattern; clear errors for what is unsupported.

    ``strict=False`` (reading a fitted result): a variance held at its start value counts as a
    free variance, as lme4 would estimate it, and held fixed effects are ignored.
    """
    from statsmodels.regression.mixed_linear_model import MixedLMParams

    if not isinstance(free, MixedLMParams):
        raise TypeError(
            "free= must be a statsmodels MixedLMParams pattern, e.g. "
            "MixedLMParams.from_components(np.ones(k_fe), np.eye(k_re)) for uncorrelated random "
            f"effects; got {type(free).__name__}"
        )
    fe = np.asarray(free.fe_params if free.fe_params is not None else np.ones(k_fe), dtype=float)
    if strict and fe.size and not np.all(fe != 0):
        raise NotImplementedError(
            "free= with fixed effects held fixed is not supported; use an offset in the "
            "formula (subtract the known part from the response) instead."
        )
    if free.k_vc:
        raise NotImplementedError("variance components (vc_formula=) are not supported")
    cov = np.asarray(free.cov_re, dtype=float)
    if cov.shape != (k, k):
        raise ValueError(
            f"free.cov_re has shape {cov.shape}, but the model has {k} random effects per group"
        )
    mask = np.tril(cov != 0)
    if not strict:
        mask[np.diag_indices(k)] = True
    _check_mask(mask)
    return mask


def _check_mask(mask):
    """Raise unless the zeros of Lambda are zeros of G = Lambda Lambda' (block/diagonal patterns)."""
    k = mask.shape[0]
    if not np.all(np.diag(mask)):
        raise NotImplementedError(
            "a random-effect variance fixed at zero (a 0 on the diagonal of free.cov_re) is not "
            "supported: drop that random effect from re_formula instead."
        )
    for i in range(k):
        for j in range(i):
            if not mask[i, j] and any(mask[i, m] and mask[j, m] for m in range(j)):
                raise NotImplementedError(
                    "this free.cov_re pattern does not fix a covariance at zero (statsmodels "
                    "constrains the Cholesky factor, and here its zero does not give a zero "
                    "covariance). Supported: all covariances free, or a diagonal pattern "
                    "(np.eye(k_re), R's (x || g)), or blocks."
                )


def _mask_of_result(inner):
    """Lambda mask of a fitted result (from ``result.freepat``; full when there is none)."""
    k = int(inner.model.k_re)
    free = getattr(inner, "freepat", None)
    if free is None:
        return np.tril(np.ones((k, k), dtype=bool))
    return _mask_from_free(free, k, int(inner.model.k_fe), strict=False)


def _free_pattern(mask, k_fe):
    """statsmodels ``MixedLMParams`` free pattern for a Lambda mask (None when all are free)."""
    from statsmodels.regression.mixed_linear_model import MixedLMParams

    if np.all(mask[np.tril_indices(mask.shape[0])]):
        return None
    cov = (mask | mask.T).astype(float)
    return MixedLMParams.from_components(fe_params=np.ones(k_fe), cov_re=cov, vcomp=np.zeros(0))
