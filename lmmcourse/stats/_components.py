"""Variance-component summaries: ICC, R², shrinkage factor, ANOVA estimators."""

import warnings

import numpy as np


def icc_from_components(var_between, var_within):
    r"""Intraclass correlation from two variance components.

    .. math:: \rho = \frac{\sigma^2_u}{\sigma^2_u + \sigma^2_e}

    Parameters
    ----------
    var_between : float or array_like
        Between-cluster variance :math:`\sigma^2_u` (course text: :math:`\sigma^2_g`).
    var_within : float or array_like
        Within-cluster (residual) variance :math:`\sigma^2_e`.

    Returns
    -------
    float or ndarray
        The ICC, broadcast over the inputs.

    References
    ----------
    Dohoo, Martin & Stryhn (2012), *Methods in Epidemiologic Research*, section 21.2.
    """
    var_between = np.asarray(var_between, dtype=float)
    var_within = np.asarray(var_within, dtype=float)
    if np.any(var_between < 0) or np.any(var_within < 0):
        raise ValueError("variance components must be non-negative")
    out = var_between / (var_between + var_within)
    return out.item() if out.ndim == 0 else out


def shrinkage_factor(var_between, var_within, m):
    r"""Shrinkage factor of a random-intercept BLUP for a cluster of size ``m``.

    .. math:: R = \frac{\sigma^2_u}{\sigma^2_u + \sigma^2_e / m}

    The BLUP of a cluster's intercept is :math:`R(\bar y_j - \hat\mu)`: ``R`` near 1 keeps the raw
    cluster mean, ``R`` near 0 pulls it to the grand mean.

    Parameters
    ----------
    var_between, var_within : float or array_like
        Variance components :math:`\sigma^2_u` and :math:`\sigma^2_e`.
    m : int or array_like
        Cluster size(s), at least 1.

    Returns
    -------
    float or ndarray

    References
    ----------
    Dohoo, Martin & Stryhn (2012), section 21.5; Robinson (1991), *Statistical Science* 6:15-32.
    """
    var_between = np.asarray(var_between, dtype=float)
    var_within = np.asarray(var_within, dtype=float)
    m = np.asarray(m, dtype=float)
    if np.any(m < 1):
        raise ValueError("cluster size m must be at least 1")
    if np.any(var_between < 0) or np.any(var_within < 0):
        raise ValueError("variance components must be non-negative")
    out = var_between / (var_between + var_within / m)
    return out.item() if out.ndim == 0 else out


# --------------------------------------------------------------------------------------------
# Variance decomposition of a fitted model (performance::icc, performance::r2_nakagawa)
# --------------------------------------------------------------------------------------------
#: Tolerance on the diagonal of the relative Cholesky factor below which a fit counts as
#: singular. performance uses 1e-5, but statsmodels cannot reach below about 1e-5 (it treats
#: relative variances under 1e-10 as zero), so a singular statsmodels fit often ends between 1e-5
#: and 1e-4: lme4's isSingular default, 1e-4, classifies such fits reliably.
_SINGULAR_TOL = 1e-4


def _variance_parts(result):
    """Return ``(v_f, v_r, v_e, singular)`` of a fitted model (see :func:`icc`)."""
    from ._core import model_arrays, singular_components, validate_result

    validate_result(result)
    arr = model_arrays(result)
    X = np.vstack(arr.X)
    Z = np.vstack(arr.Z)
    fitted_fixed = X @ arr.beta
    v_f = float(np.var(fitted_fixed, ddof=1)) if len(fitted_fixed) > 1 else 0.0
    G = arr.G
    if arr.mask is not None and not np.all(arr.mask[np.tril_indices(len(G))]):
        # Uncorrelated random effects, R's (1 | g) + (0 + x | g): performance counts the terms
        # that contain the random intercept only; a slope-only term adds nothing to v_r.
        from ._compare import _blocks

        has_int = Z.shape[1] > 0 and bool(np.all(Z[:, 0] == 1.0))
        keep = np.zeros(len(G), dtype=bool)
        for block in _blocks(arr.mask):
            if has_int and 0 in block:
                keep[block] = True
        G = np.where(np.outer(keep, keep), G, 0.0)
    v_r = float(np.mean(np.einsum("ij,jk,ik->i", Z, G, Z)))
    v_e = float(arr.sigma2)
    singular = singular_components(result, tol=_SINGULAR_TOL)
    return v_f, v_r, v_e, singular


def _warn_singular(what, names, undefined):
    from ._core import BoundaryFitWarning

    warnings.warn(
        f"{what}: singular (boundary) fit: the random-effect component(s) "
        f"{', '.join(repr(n) for n in names)} have a variance of zero or a correlation of +-1 "
        f"(relative Cholesky factor below {_SINGULAR_TOL:g}, lme4's isSingular rule). "
        f"{undefined} is returned as NaN because the random-effect variance is not "
        "estimable; simplify the random-effects structure and refit.",
        BoundaryFitWarning,
        stacklevel=3,
    )


def icc(result):
    r"""Intraclass correlation of a fitted mixed model, as ``performance::icc`` computes it.

    With :math:`v_f = \operatorname{var}(X\hat\beta)` (denominator :math:`n-1`), the residual
    variance :math:`v_e = \hat\sigma^2_e` and the mean random-effect variance
    (Johnson 2014)

    .. math:: v_r = \frac1n \sum_{i=1}^n z_i' \hat\Sigma_b z_i ,

    where :math:`z_i` is row :math:`i` of the random-effects design and :math:`\hat\Sigma_b` the
    random-effects covariance (``result.cov_re``),

    .. math:: \text{ICC}_\text{adjusted} = \frac{v_r}{v_r + v_e}, \qquad
              \text{ICC}_\text{conditional} = \frac{v_r}{v_f + v_r + v_e}.

    For a random-intercept model :math:`v_r = \sigma^2_u`, so the adjusted ICC is the familiar
    :math:`\sigma^2_u / (\sigma^2_u + \sigma^2_e)`. For a random slope on :math:`x`,
    :math:`v_r = \sigma^2_0 + 2\sigma_{01}\bar x + \sigma^2_1 \overline{x^2}`, which depends on
    where :math:`x` is centred. The *conditional* ICC (performance calls it "unadjusted") also
    counts the variance explained by the fixed effects in the denominator.

    Uncorrelated random effects (``fit_tight(..., correlated=False)``, R's ``(x || g)``, which
    lme4 stores as the two terms ``(1 | g) + (0 + x | g)``): performance 0.10 counts only the
    term that holds the random intercept, so :math:`v_r = \sigma^2_0` and the slope variance is
    left out; this function does the same, to reproduce R.

    Parameters
    ----------
    result : MixedLMResults
        A converged fit from ``smf.mixedlm(...).fit()``.

    Returns
    -------
    dict
        ``adjusted`` and ``conditional`` (floats).

    Raises
    ------
    TypeError
        If ``result`` is not a statsmodels ``MixedLMResults``.
    RuntimeError
        If the fit did not converge.

    Warns
    -----
    BoundaryFitWarning
        For a singular fit (a diagonal element of the relative Cholesky factor below 1e-4,
        lme4's ``isSingular``; performance uses 1e-5, which statsmodels fits cannot resolve);
        both ICCs are then NaN, as performance returns NA.

    References
    ----------
    Nakagawa, S. & Schielzeth, H. (2013). A general and simple method for obtaining R2 from
    generalized linear mixed-effects models. *Methods in Ecology and Evolution* 4, 133-142.
    Johnson, P. C. D. (2014). Extension of Nakagawa & Schielzeth's R2_GLMM to random slopes
    models. *Methods in Ecology and Evolution* 5, 944-946.
    """
    v_f, v_r, v_e, singular = _variance_parts(result)
    if singular:
        _warn_singular("icc", singular, "The ICC")
        return {"adjusted": float("nan"), "conditional": float("nan")}
    return {
        "adjusted": v_r / (v_r + v_e),
        "conditional": v_r / (v_f + v_r + v_e),
    }


def r2_nakagawa(result):
    r"""Marginal and conditional :math:`R^2` of a mixed model (``performance::r2_nakagawa``).

    With :math:`v_f, v_r, v_e` as in :func:`icc`,

    .. math:: R^2_\text{marginal} = \frac{v_f}{v_f + v_r + v_e}, \qquad
              R^2_\text{conditional} = \frac{v_f + v_r}{v_f + v_r + v_e}.

    The marginal :math:`R^2` is the share of variance explained by the fixed effects alone, the
    conditional one the share explained by fixed and random effects together.

    Parameters
    ----------
    result : MixedLMResults
        A converged fit.

    Returns
    -------
    dict
        ``marginal`` and ``conditional`` (floats).

    Warns
    -----
    BoundaryFitWarning
        For a singular fit (tolerance 1e-4, see :func:`icc`): ``conditional`` is NaN and
        ``marginal`` falls back to :math:`v_f / (v_f + v_e)`, as performance does.

    References
    ----------
    Nakagawa, S. & Schielzeth, H. (2013), *Methods in Ecology and Evolution* 4, 133-142.
    Johnson, P. C. D. (2014), *Methods in Ecology and Evolution* 5, 944-946.
    """
    v_f, v_r, v_e, singular = _variance_parts(result)
    if singular:
        _warn_singular(
            "r2_nakagawa", singular,
            "The conditional R2 (the marginal R2 is v_f / (v_f + v_e), ignoring the random effects)",
        )
        return {"marginal": v_f / (v_f + v_e), "conditional": float("nan")}
    total = v_f + v_r + v_e
    return {"marginal": v_f / total, "conditional": (v_f + v_r) / total}


# --------------------------------------------------------------------------------------------
# ANOVA (method-of-moments) estimators
# --------------------------------------------------------------------------------------------
def anova_components(data, y, group):
    r"""ANOVA (method-of-moments) variance components for one-way, possibly unbalanced data.

    With :math:`k` groups of sizes :math:`m_j`, :math:`N = \sum_j m_j`,

    .. math::
        \text{MSB} = \frac{\sum_j m_j (\bar y_j - \bar y)^2}{k - 1}, \quad
        \text{MSW} = \frac{\sum_j \sum_i (y_{ij} - \bar y_j)^2}{N - k}, \quad
        n_0 = \frac{N - \sum_j m_j^2 / N}{k - 1},

    .. math:: \hat\sigma^2_e = \text{MSW}, \qquad
              \hat\sigma^2_u = \frac{\text{MSB} - \text{MSW}}{n_0}, \qquad
              \widehat{\text{ICC}} = \frac{\hat\sigma^2_u}{\hat\sigma^2_u + \hat\sigma^2_e}.

    For balanced data :math:`n_0 = m` and these are the REML estimates whenever
    :math:`\hat\sigma^2_u \ge 0`. The estimator is unbiased, so it can be negative (when
    :math:`\text{MSB} < \text{MSW}`); it is then returned as is, with ``negative=True`` and a
    warning, rather than truncated at zero.

    Parameters
    ----------
    data : pandas.DataFrame
    y : str
        Column of the response.
    group : str
        Column of the cluster labels.

    Returns
    -------
    dict
        ``sigma2_u, sigma2_e, icc, n0, msb, msw`` (floats) and ``negative`` (bool).

    Raises
    ------
    ValueError
        If a column is missing, has missing values, the response is not numeric, there are fewer
        than two groups, or no group has more than one observation.

    References
    ----------
    Searle, S. R., Casella, G. & McCulloch, C. E. (1992). *Variance Components*. Wiley,
    sections 3.5-3.6 (unbalanced one-way classification).
    """
    import pandas as pd

    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"data must be a pandas DataFrame, got {type(data).__name__}")
    for col in (y, group):
        if col not in data.columns:
            raise ValueError(f"column {col!r} is not in the data (columns: {list(data.columns)})")
    n_missing = int(data[y].isna().sum() + data[group].isna().sum())
    if n_missing:
        raise ValueError(
            f"{n_missing} missing value(s) in {y!r}/{group!r}; drop those rows first "
            f"(data.dropna(subset=[{y!r}, {group!r}]))"
        )
    if not pd.api.types.is_numeric_dtype(data[y]):
        raise ValueError(f"response column {y!r} must be numeric, it has dtype {data[y].dtype}")
    values = data[y].to_numpy(dtype=float)
    stats = data.groupby(data[group], sort=True, observed=True)[y].agg(["size", "mean"])
    k = len(stats)
    n = len(values)
    if k < 2:
        raise ValueError(f"need at least two groups in {group!r}, found {k}")
    if n <= k:
        raise ValueError(
            f"every group of {group!r} has a single observation ({n} rows, {k} groups): the "
            "within-group variance cannot be estimated"
        )
    m = stats["size"].to_numpy(dtype=float)
    means = stats["mean"].to_numpy(dtype=float)
    grand = values.mean()
    ssb = float(np.sum(m * (means - grand) ** 2))
    group_means = data[group].map(stats["mean"]).to_numpy(dtype=float)
    ssw = float(np.sum((values - group_means) ** 2))
    msb = ssb / (k - 1)
    msw = ssw / (n - k)
    n0 = (n - np.sum(m**2) / n) / (k - 1)
    sigma2_u = (msb - msw) / n0
    negative = bool(sigma2_u < 0)
    if negative:
        warnings.warn(
            f"anova_components: the ANOVA estimate of sigma2_u is negative ({sigma2_u:.4g}) "
            f"because MSB ({msb:.4g}) < MSW ({msw:.4g}); it is returned as is (and the ICC is "
            "negative too). Read it as 'no detectable between-group variance'; a REML fit would "
            "put the estimate at zero.",
            UserWarning,
            stacklevel=2,
        )
    return {
        "sigma2_u": float(sigma2_u),
        "sigma2_e": float(msw),
        "icc": float(sigma2_u / (sigma2_u + msw)),
        "n0": float(n0),
        "msb": float(msb),
        "msw": float(msw),
        "negative": negative,
    }
