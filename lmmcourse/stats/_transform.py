"""Box-Cox transformation of the response of a linear mixed model (profile likelihood)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy import stats

__all__ = ["boxcox"]


def _transform(y, lam, gm, shift_free):
    r"""Box-Cox transform scaled by the geometric mean: its Jacobian is 1 (Box & Cox 1964).

    With ``shift_free`` (an intercept in the model) the constant is chosen as
    :math:`\dot y\,((y/\dot y)^\lambda - 1)/\lambda`, which differs from
    :math:`(y^\lambda - 1)/(\lambda\dot y^{\lambda-1})` by a constant (absorbed by the
    intercept) and avoids the cancellation in :math:`y^\lambda - 1` for large :math:`|\lambda|`.
    """
    if lam == 0:
        return gm * np.log(y / gm) if shift_free else gm * np.log(y)
    if shift_free:
        return gm * np.expm1(lam * np.log(y / gm)) / lam
    return (y**lam - 1.0) / (lam * gm ** (lam - 1.0))


def boxcox(formula, data, groups, lambdas=None, re_formula=None):
    r"""Profile log-likelihood of the Box-Cox parameter in a linear mixed model.

    For each :math:`\lambda` the model is refitted by maximum likelihood to
    :math:`y^{(\lambda)} = (y^\lambda - 1)/\lambda` (:math:`\log y` at :math:`\lambda = 0`) and
    the log-likelihood on the scale of the original :math:`y` is

    .. math:: \ell(\lambda) = \ell_\text{ML}\bigl(y^{(\lambda)}\bigr)
              + (\lambda - 1)\sum_i \log y_i ,

    the second term being the log-Jacobian of the transformation (Box & Cox 1964; Gurka et al.
    2006). Each fit maximises lme4's profiled ML criterion directly (as :func:`fit_tight` does).
    Numerically the model is fitted to :math:`y^{(\lambda)} / \dot y^{\lambda - 1}`
    (:math:`\dot y` the geometric mean), whose ML log-likelihood equals :math:`\ell(\lambda)`
    and whose scale does not change with :math:`\lambda`.

    ``best_lambda`` is the maximiser: the vertex of the parabola through the best grid point and
    its two neighbours (the grid point itself when it is at an end of the grid, with a warning).
    ``ci`` is the approximate 95% profile-likelihood interval
    :math:`\{\lambda : \ell(\lambda) \ge \ell_\text{max} - \chi^2_{1, 0.95}/2\}`, with its ends
    interpolated linearly between grid points.

    Why not REML: the REML likelihood is the likelihood of :math:`n - p` error contrasts
    :math:`K'y^{(\lambda)}`, not of :math:`y^{(\lambda)}` itself. Rescaling the response by
    :math:`c` changes the REML log-likelihood by :math:`-(n-p)\log c` rather than
    :math:`-n\log c`, so adding the Jacobian :math:`(\lambda-1)\sum\log y` (which belongs to all
    :math:`n` observations) does not give a likelihood of the same data for every
    :math:`\lambda`: REML values at different :math:`\lambda` are not comparable, and their
    maximiser depends on the units of :math:`y`. The ML profile has neither problem.

    Parameters
    ----------
    formula : str
        Fixed-effects formula, e.g. ``"cost ~ age + severity"``; the left-hand side is the
        (untransformed, strictly positive) response.
    data : pandas.DataFrame
    groups : str
        Column of the cluster labels.
    lambdas : array_like, optional
        Grid of :math:`\lambda` values (at least 3, increasing); default
        ``numpy.linspace(-2, 2, 41)``.
    re_formula : str, optional
        Random-effects formula, as in ``smf.mixedlm`` (default: random intercept).

    Returns
    -------
    dict
        ``profile`` (DataFrame with columns ``lambda, loglik``), ``best_lambda`` (float),
        ``ci`` (tuple ``(lower, upper)``; an end is NaN, with a warning, when the profile does
        not drop far enough inside the grid: widen the grid).

    Raises
    ------
    ValueError
        If the response has zero or negative values (the message says how many and suggests a
        shift), or the grid has fewer than 3 points.

    References
    ----------
    Box, G. E. P. & Cox, D. R. (1964). An analysis of transformations. *JRSS B* 26, 211-252.
    Gurka, M. J., Edwards, L. J., Muller, K. E. & Kupper, L. L. (2006). Extending the Box-Cox
    transformation to the linear mixed model. *JRSS A* 169, 273-288.
    """
    import statsmodels.formula.api as smf

    from ._fit import _Profiled

    grid = np.linspace(-2, 2, 41) if lambdas is None else np.asarray(lambdas, dtype=float)
    grid = np.unique(grid)
    if grid.size < 3:
        raise ValueError("lambdas needs at least 3 distinct values to locate a maximum")
    model = smf.mixedlm(formula, data, groups=groups, re_formula=re_formula)
    y = np.asarray(model.endog, dtype=float)
    bad = int(np.sum(~(y > 0)))
    if bad:
        low = float(np.nanmin(y))
        raise ValueError(
            f"the Box-Cox transformation needs a strictly positive response, but {bad} of "
            f"{y.size} values of {model.endog_names!r} are zero, negative or missing (minimum "
            f"{low:g}). Drop missing values, or shift the response, e.g. y + c with c > "
            f"{max(-low, 0):g}, and report the shift (the best lambda depends on it)."
        )
    gm = float(np.exp(np.mean(np.log(y))))
    prof = _Profiled(model)
    X = np.asarray(model.exog, dtype=float)
    ones = np.ones(len(y))
    shift_free = bool(np.linalg.norm(ones - X @ np.linalg.lstsq(X, ones, rcond=None)[0]) < 1e-8
                      * np.sqrt(len(y)))
    starts = []
    ll = []
    for lam in grid:
        prof.set_y(_transform(y, lam, gm, shift_free))
        theta, value = prof.fit(False, starts=starts, polish=True)
        starts = [theta]
        ll.append(value)
    ll = np.asarray(ll)
    profile = pd.DataFrame({"lambda": grid, "loglik": ll})

    i = int(np.argmax(ll))
    if 0 < i < grid.size - 1:
        x0, x1, x2 = grid[i - 1 : i + 2]
        f0, f1, f2 = ll[i - 1 : i + 2]
        num = (x1 - x0) ** 2 * (f1 - f2) - (x1 - x2) ** 2 * (f1 - f0)
        den = (x1 - x0) * (f1 - f2) - (x1 - x2) * (f1 - f0)
        best = float(x1 - 0.5 * num / den) if den != 0 else float(x1)
        ll_max = max(f1, _parabola(grid[i - 1 : i + 2], ll[i - 1 : i + 2], best))
    else:
        best, ll_max = float(grid[i]), float(ll[i])
        warnings.warn(
            f"boxcox: the profile log-likelihood is largest at the end of the grid "
            f"(lambda = {best:g}); extend the grid to find the maximum.",
            UserWarning,
            stacklevel=2,
        )
    cut = ll_max - stats.chi2.ppf(0.95, 1) / 2
    lower = _crossing(grid[: i + 1][::-1], ll[: i + 1][::-1], cut)
    upper = _crossing(grid[i:], ll[i:], cut)
    for side, val in (("lower", lower), ("upper", upper)):
        if np.isnan(val):
            warnings.warn(
                f"boxcox: the {side} end of the 95% interval lies outside the grid "
                f"[{grid[0]:g}, {grid[-1]:g}]; it is returned as NaN. Extend the grid.",
                UserWarning,
                stacklevel=2,
            )
    return {"profile": profile, "best_lambda": best, "ci": (lower, upper)}


def _parabola(x, f, at):
    """Value at ``at`` of the parabola through three points."""
    coef = np.polyfit(x, f, 2)
    return float(np.polyval(coef, at))


def _crossing(x, f, cut):
    """First point, walking away from the maximum, where ``f`` drops below ``cut``."""
    for j in range(1, len(x)):
        if f[j] < cut <= f[j - 1]:
            return float(x[j - 1] + (cut - f[j - 1]) * (x[j] - x[j - 1]) / (f[j] - f[j - 1]))
    return float("nan")
