"""Variance-component summaries: ICC, shrinkage factor."""

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
