"""Best linear unbiased predictions (BLUPs) of the random effects, with conditional SDs."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._core import model_arrays, validate_result

__all__ = ["blups"]


def blups(result):
    r"""Random-effect predictions and their conditional SDs, as lme4's ``ranef(condVar = TRUE)``.

    For cluster :math:`g` with :math:`V_g = Z_g G Z_g' + \sigma^2_e I`,

    .. math:: \hat b_g = G Z_g' V_g^{-1} (y_g - X_g\hat\beta), \qquad
              \operatorname{Var}(b_g \mid y_g) = G - G Z_g' V_g^{-1} Z_g G,

    evaluated at the estimates. ``sd`` is the square root of the diagonal of the conditional
    variance: the uncertainty of a cluster's effect given its data, with :math:`\beta`, :math:`G`
    and :math:`\sigma^2_e` treated as known (lme4's ``condVar``; statsmodels'
    ``random_effects_cov`` is the same matrix). For a random intercept,
    :math:`\hat b_g = R_g(\bar y_g - \bar x_g'\hat\beta)` with the shrinkage factor
    :math:`R_g = \sigma^2_u / (\sigma^2_u + \sigma^2_e/m_g)` (see :func:`shrinkage_factor`).

    Parameters
    ----------
    result : MixedLMResults
        A converged fit with one grouping factor.

    Returns
    -------
    pandas.DataFrame
        Long format, one row per cluster and random effect: ``group`` (cluster label),
        ``effect`` (``"Intercept"`` for the random intercept, else the statsmodels column name,
        e.g. ``"Days"``), ``blup``, ``sd``.

    References
    ----------
    Robinson, G. K. (1991). That BLUP is a good thing: the estimation of random effects.
    *Statistical Science* 6, 15-32.
    Bates, D., Maechler, M., Bolker, B. & Walker, S. (2015). *Journal of Statistical Software*
    67(1), section 5.1 (conditional modes and variances).
    """
    inner = validate_result(result)
    arr = model_arrays(inner)
    names = list(arr.re_names)
    Zall = np.asarray(inner.model.exog_re)
    if Zall.shape[1] and np.all(Zall[:, 0] == 1.0):
        names[0] = "Intercept"
    G = arr.G
    rows = []
    for label, yg, Xg, Zg in zip(arr.groups, arr.y, arr.X, arr.Z, strict=True):
        Vg = Zg @ G @ Zg.T + arr.sigma2 * np.eye(len(yg))
        GZt = G @ Zg.T
        sol = np.linalg.solve(Vg, np.column_stack([yg - Xg @ arr.beta, GZt.T]))
        b = GZt @ sol[:, 0]
        cond = G - GZt @ sol[:, 1:]
        sd = np.sqrt(np.clip(np.diag(cond), 0.0, None))
        for j, name in enumerate(names):
            rows.append((label, name, float(b[j]), float(sd[j])))
    return pd.DataFrame(rows, columns=["group", "effect", "blup", "sd"])
