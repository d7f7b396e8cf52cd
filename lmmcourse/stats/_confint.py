r"""Confidence intervals for the parameters of a linear mixed model: profile likelihood and
parametric bootstrap, as lme4's ``confint(m, method = "profile" | "boot", oldNames = FALSE)``;
and a bootstrap interval for the intraclass correlation.

The statsmodels summary prints a "Std.Err." beside each variance. That number comes from the
curvature of the likelihood at its maximum, and the sampling distribution of a variance estimate is
skewed and bounded at zero, so "estimate ± 2 SE" is a poor interval for it. The profile-likelihood
interval and the parametric bootstrap are honest alternatives (Bates et al. 2015, section 5.1).

Everything here is computed from the penalised least-squares form of the deviance (Bates et al.
2015, section 3), one cluster at a time with only ``k x k`` matrices per cluster.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy import optimize, stats

from ._core import _chol_psd, validate_result

__all__ = ["confint", "icc_interval"]


# --------------------------------------------------------------------------------------------
# the deviance in penalised least-squares form
# --------------------------------------------------------------------------------------------
class _PLS:
    r"""Deviance of a one-factor LMM from per-cluster cross-products.

    With :math:`\Lambda` lower triangular, :math:`\Lambda\Lambda' = G/\sigma^2`, and per cluster
    :math:`M_g = I + \Lambda'Z_g'Z_g\Lambda`, the penalised residual sum of squares
    :math:`\text{PRSS}(\theta) = \min_{\beta,u}\lVert y - X\beta - Z\Lambda u\rVert^2 +
    \lVert u\rVert^2 = r'(V/\sigma^2)^{-1}r` and :math:`\log|V/\sigma^2| = \sum_g\log|M_g|`, so

    .. math:: d_\text{ML}(\theta, \sigma) = \sum_g\log|M_g| + \frac{\text{PRSS}(\theta)}{\sigma^2}
              + n\log(2\pi\sigma^2),

    which, minimised over :math:`\sigma`, gives the profiled
    :math:`\sum_g\log|M_g| + n[1 + \log(2\pi\,\text{PRSS}/n)]`; REML adds
    :math:`\log|X'(V/\sigma^2)^{-1}X|` and uses :math:`n - p` (Bates et al. 2015, eqs. 34, 41).

    The computations (and the analytic gradient) are those of the fitting engine,
    ``_fit._Profiled``; this adapter works from plain arrays (a subset of rows, a design without
    one column) and keeps theta to the diagonal for uncorrelated random effects.
    """

    def __init__(self, X, Z, codes, y, diagonal=False):
        from types import SimpleNamespace

        from ._fit import _Profiled

        X = np.asarray(X, dtype=float)
        Z = np.asarray(Z, dtype=float)
        k = Z.shape[1]
        data = SimpleNamespace(exog=X, exog_re=Z, groups=np.asarray(codes),
                               endog=np.asarray(y, dtype=float))
        self._prof = _Profiled(data, mask=np.eye(k, dtype=bool) if diagonal else None)
        self.n, self.p = X.shape
        self.k = k
        self.n_groups = self._prof.n_groups
        self.rows, self.cols = self._prof.rows, self._prof.cols
        self.diag = self.rows == self.cols

    def set_y(self, y):
        self._prof.set_y(np.asarray(y, dtype=float))

    def lam(self, theta):
        L = np.zeros((self.k, self.k))
        L[self.rows, self.cols] = theta
        return L

    def solve(self, L):
        """``(sum log|M_g|, X'W X, beta, PRSS)`` at the relative factor ``L``."""
        return self._prof.parts(np.asarray(L, dtype=float)[self.rows, self.cols])

    def profiled(self, theta, reml=False):
        """Deviance profiled over beta and sigma, as a function of theta (inf if undefined)."""
        return float(self._prof.deviance(np.asarray(theta, dtype=float), reml))

    def profiled_grad(self, theta, reml=False):
        """``(deviance, gradient)`` of :meth:`profiled`."""
        return self._prof.deviance_grad(np.asarray(theta, dtype=float), reml)

    def minimize(self, start, reml=False, gtol=1e-8):
        """BFGS with the analytic gradient from ``start``; scipy's result."""
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore", RuntimeWarning)
            return optimize.minimize(self.profiled_grad, np.asarray(start, dtype=float),
                                     args=(reml,), jac=True, method="BFGS",
                                     options=dict(gtol=gtol, maxiter=1000))

    def fit(self, theta0, reml=False, polish=True, default_start=True):
        """Minimise the profiled deviance over theta; return ``(theta, deviance)``.

        BFGS from ``theta0`` (and from lme4's default start, identity, unless
        ``default_start=False``), then optionally a tight Nelder-Mead polish.
        """
        theta0 = np.asarray(theta0, dtype=float)
        starts = [theta0] + ([np.where(self.diag, 1.0, 0.0)] if default_start else [])
        best = None
        for s0 in starts:
            res = self.minimize(s0, reml)
            if np.isfinite(res.fun) and (best is None or res.fun < best.fun):
                best = res
        if polish:
            res = optimize.minimize(self.profiled, best.x, args=(reml,), method="Nelder-Mead",
                                    options=dict(xatol=1e-10, fatol=1e-13, maxfev=6000))
            if res.fun <= best.fun:
                best = res
        theta = canonical_theta(self, best.x)
        return theta, float(self.profiled(theta, reml))


def canonical_theta(pls, theta):
    """Flip column signs so that the diagonal of Lambda is non-negative (same LL')."""
    L = pls.lam(theta)
    L = L * np.where(np.diag(L) < 0, -1.0, 1.0)
    return L[pls.rows, pls.cols]


# --------------------------------------------------------------------------------------------
# lme4's sd/cor parametrisation
# --------------------------------------------------------------------------------------------
def _sdcor_order(k, diagonal=False):
    """lme4's order of the sd/cor parameters: the lower triangle column by column (only the
    standard deviations for uncorrelated random effects)."""
    if diagonal:
        return [(i, i) for i in range(k)]
    return [(i, j) for j in range(k) for i in range(j, k)]


def _theta_to_sdcor(L, sigma, diagonal=False):
    """``Lambda`` (relative factor) and sigma -> lme4's (sd, cor, ..., sigma) vector."""
    k = L.shape[0]
    G = L @ L.T * sigma**2
    sd = np.sqrt(np.clip(np.diag(G), 0, None))
    out = []
    for i, j in _sdcor_order(k, diagonal):
        if i == j:
            out.append(sd[i])
        else:
            den = sd[i] * sd[j]
            out.append(float(np.clip(G[i, j] / den, -1, 1)) if den > 0 else 0.0)
    return np.asarray(out + [sigma], dtype=float)


def _sdcor_to_lambda(phi, k, diagonal=False):
    """lme4's (sd, cor, ..., sigma) vector -> relative factor ``Lambda`` and sigma."""
    sigma = float(phi[-1])
    sd = np.zeros(k)
    R = np.eye(k)
    for value, (i, j) in zip(phi[:-1], _sdcor_order(k, diagonal), strict=True):
        if i == j:
            sd[i] = value
        else:
            R[i, j] = R[j, i] = value
    G = R * np.outer(sd, sd)
    return _chol_psd(G / sigma**2, tol=1e-14), sigma


# --------------------------------------------------------------------------------------------
# model pieces
# --------------------------------------------------------------------------------------------
def _group_name(model):
    """The grouping column's name (statsmodels keeps it only as the random intercept's name)."""
    Z = np.asarray(model.exog_re, dtype=float)
    names = list(model.data.exog_re_names)
    if Z.shape[1] and np.all(Z[:, 0] == 1.0):
        return names[0]
    frame = getattr(model.data, "frame", None)
    groups = np.asarray(model.groups)
    if frame is not None:
        for col in frame.columns:
            values = frame[col].to_numpy()
            if len(values) == len(groups) and np.array_equal(values, groups):
                return str(col)
    return "group"


def _re_labels(model):
    """Random-effect names as lme4 prints them: the intercept is ``(Intercept)``."""
    Z = np.asarray(model.exog_re, dtype=float)
    names = [str(n) for n in model.data.exog_re_names]
    if Z.shape[1] and np.all(Z[:, 0] == 1.0):
        names[0] = "(Intercept)"
    return names


def _param_names(model, diagonal=False):
    """Row names of lme4's ``confint(..., oldNames = FALSE)`` for the variance parameters."""
    g = _group_name(model)
    re = _re_labels(model)
    out = []
    for i, j in _sdcor_order(len(re), diagonal):
        out.append(f"sd_{re[i]}|{g}" if i == j else f"cor_{re[i]}.{re[j]}|{g}")
    return out + ["sigma"]


def _is_diagonal(inner):
    """False for an unstructured random-effects covariance, True for uncorrelated random
    effects (statsmodels ``fit(free=...)`` with a diagonal pattern, R's ``(x || g)``)."""
    if inner.model.k_re == 0:
        raise ValueError("the model has no random effects; use the OLS confidence intervals")
    free = getattr(inner, "freepat", None)
    if free is None:
        return False
    pat = np.asarray(free.cov_re) != 0
    k = pat.shape[0]
    if pat.all():
        return False
    if k > 1 and np.array_equal(pat, np.eye(k, dtype=bool)):
        return True
    raise NotImplementedError(
        "only an unstructured random-effects covariance (R's (1 + x | g)) or fully "
        "uncorrelated random effects (R's (x || g): free= with a diagonal pattern) are "
        "supported; this fit fixes some, but not all, covariances at zero."
    )


def _check_supported(inner):
    return _is_diagonal(inner)


def _codes(model):
    _, codes = np.unique(np.asarray(model.groups), return_inverse=True)
    return codes


def _level_columns(level):
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1 (e.g. 0.95), got {level!r}")
    a = (1 - level) / 2
    return [_pct(a), _pct(1 - a)]


def _pct(x):
    """R's stats:::format.perc: ``'2.5 %'``, ``'97.5 %'``."""
    return f"{float(f'{100 * x:.3g}'):g} %"


# --------------------------------------------------------------------------------------------
# profile
# --------------------------------------------------------------------------------------------
class _Profile:
    """Profile zeta functions of one model (ML deviance, as lme4's ``profile``)."""

    def __init__(self, inner, diagonal=False):
        model = inner.model
        self.model = model
        self.diagonal = diagonal
        self.X = np.asarray(model.exog, dtype=float)
        self.Z = np.asarray(model.exog_re, dtype=float)
        self.y = np.asarray(model.endog, dtype=float)
        self.codes = _codes(model)
        self.pls = _PLS(self.X, self.Z, self.codes, self.y, diagonal)
        k = self.pls.k
        self.k = k
        start = _chol_psd(np.asarray(inner.cov_re, dtype=float) / float(inner.scale))
        theta, base = self.pls.fit(start[self.pls.rows, self.pls.cols], reml=False)
        self.theta_hat = theta
        self.base = base
        L = self.pls.lam(theta)
        _, xtwx, beta, prss = self.pls.solve(L)
        self.sigma_hat = float(np.sqrt(prss / self.pls.n))
        self.beta_hat = beta
        self.se_beta = np.sqrt(np.diag(np.linalg.inv(xtwx))) * self.sigma_hat
        self.phi_hat = _theta_to_sdcor(L, self.sigma_hat, diagonal)
        self.kinds = ["sd" if i == j else "cor" for i, j in _sdcor_order(k, diagonal)]
        self.kinds.append("sigma")
        self._drop = {}

    # deviance at (sd, cor, sigma), beta profiled out
    def dev_sdcor(self, phi):
        L, sigma = _sdcor_to_lambda(phi, self.k, self.diagonal)
        if not sigma > 0:
            return np.inf
        try:
            logdet, _, _, prss = self.pls.solve(L)
        except np.linalg.LinAlgError:
            return np.inf
        return logdet + prss / sigma**2 + self.pls.n * np.log(2 * np.pi * sigma**2)

    def _to_free(self, values, idx):
        """Unconstrained coordinates: log for sd and sigma, atanh for a correlation."""
        out = []
        for v, i in zip(values, idx, strict=True):
            if self.kinds[i] == "cor":
                out.append(np.arctanh(np.clip(v, -1 + 1e-9, 1 - 1e-9)))
            else:
                out.append(np.log(max(v, 1e-4 * self.sigma_hat)))
        return np.asarray(out)

    def _from_free(self, u, idx):
        return np.asarray([np.tanh(a) if self.kinds[i] == "cor" else np.exp(a)
                           for a, i in zip(u, idx, strict=True)])

    def zeta_var(self, w, x, start):
        """Signed root deviance with parameter ``w`` fixed at ``x`` (others optimised)."""
        free = [i for i in range(len(self.phi_hat)) if i != w]

        def f(u):
            phi = np.empty(len(self.phi_hat))
            phi[w] = x
            phi[free] = self._from_free(u, free)
            return self.dev_sdcor(phi)

        start = np.asarray(start, dtype=float)
        starts = [self._to_free(start, free)]
        nudged = np.array([max(v, 0.1 * self.sigma_hat) if self.kinds[i] == "sd" else v
                           for v, i in zip(start, free, strict=True)])
        if np.any(nudged != start):
            # the deviance depends on a standard deviation only through its square: near
            # sd = 0 it is flat, so also start away from the edge
            starts.append(self._to_free(nudged, free))
        edge = [n for n, i in enumerate(free) if self.kinds[i] == "cor" and abs(start[n]) > 0.95]
        if edge:
            # a correlation at +-1 is flat in atanh coordinates: also start from 0 and from the
            # other sign
            for value in (0.0, -0.5, 0.5):
                other = nudged.copy()
                other[edge] = value
                starts.append(self._to_free(other, free))
        best = None
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore", RuntimeWarning)
            for u0 in starts:
                if len(u0) == 1:
                    # one free parameter (a random-intercept model: sigma): Brent's method needs
                    # a third of the deviance evaluations BFGS with numerical gradients makes
                    r1 = optimize.minimize_scalar(lambda a: f(np.array([a])),
                                                  bracket=(u0[0] - 0.05, u0[0] + 0.05),
                                                  method="brent", tol=1e-10)
                    res = optimize.OptimizeResult(x=np.array([r1.x]), fun=r1.fun)
                else:
                    res = optimize.minimize(f, u0, method="BFGS", options=dict(gtol=1e-8))
                if best is None or res.fun < best.fun:
                    best = res
        dev, z = float(best.fun), self._from_free(best.x, free)
        diff = dev - self.base
        if diff < -1e-6 * max(1.0, abs(self.base)):
            warnings.warn(
                f"confint: profiling found a deviance {-diff:.3g} lower than the fit's; the "
                "model was not at its optimum. Refit it (fit_tight) and try again.",
                RuntimeWarning,
                stacklevel=3,
            )
        return np.sign(x - self.phi_hat[w]) * np.sqrt(max(diff, 0.0)), z

    def zeta_fixed(self, j, b, start):
        """Signed root deviance with fixed effect ``j`` set to ``b`` (beta_-j, theta, sigma
        optimised), as lme4's profile of a fixed effect (an offset ``X_j b``)."""
        keep = [c for c in range(self.X.shape[1]) if c != j]
        pls = self._drop.get(j)
        if pls is None:
            pls = _PLS(self.X[:, keep], self.Z, self.codes, self.y, self.diagonal)
            self._drop[j] = pls
        pls.set_y(self.y - self.X[:, j] * b)
        start = np.asarray(start, dtype=float)
        starts = [start]
        nudged = np.where(pls.diag, np.maximum(np.abs(start), 0.1), start)
        if np.any(np.abs(start[pls.diag]) < 0.1):
            starts.append(nudged)   # the gradient vanishes at a zero diagonal element
        best = None
        for s0 in starts:
            res = pls.minimize(s0, reml=False)
            if best is None or res.fun < best.fun:
                best = res
        diff = float(best.fun) - self.base
        return np.sign(b - self.beta_hat[j]) * np.sqrt(max(diff, 0.0)), best.x

    def interval_var(self, w, target):
        """Lower and upper ends where zeta = -/+ target for variance parameter ``w``."""
        kind = self.kinds[w]
        est = self.phi_hat[w]
        if kind == "cor":
            step, lo_b, hi_b = 0.1, -1.0, 1.0
        elif kind == "sd":
            step, lo_b, hi_b = max(0.25 * est, 0.05 * self.sigma_hat), 0.0, np.inf
        else:  # sigma > 0: the deviance goes to infinity at 0, so the end is always inside
            step, lo_b, hi_b = 0.1 * est, 1e-3 * est, np.inf
        ends = []
        for sign in (-1.0, 1.0):
            warm = _WarmStart(lambda x, start: self.zeta_var(w, x, start),
                              np.delete(self.phi_hat, w))
            ends.append(_find_end(warm, est, sign, target, step, lo_b, hi_b,
                                  edge_is_end=kind != "sigma"))
        return ends

    def interval_fixed(self, j, target):
        """Lower and upper ends where zeta = -/+ target for fixed effect ``j``."""
        est = self.beta_hat[j]
        ends = []
        for sign in (-1.0, 1.0):
            warm = _WarmStart(lambda b, start: self.zeta_fixed(j, b, start), self.theta_hat)
            ends.append(_find_end(warm, est, sign, target, self.se_beta[j] * target,
                                  -np.inf, np.inf, edge_is_end=False))
        return ends


class _WarmStart:
    """zeta as a function of the parameter value, each optimisation started at the last one."""

    def __init__(self, zeta, start):
        self.zeta = zeta
        self.start = np.array(start, dtype=float, copy=True)

    def __call__(self, x):
        z, sol = self.zeta(x, self.start)
        self.start = np.asarray(sol, dtype=float)
        return z


def _find_end(zeta, est, sign, target, step, lo_b, hi_b, edge_is_end):
    """Where ``zeta`` crosses ``sign * target`` on the ``sign`` side of ``est``.

    Steps outwards (doubling) until zeta passes the cut-off, then Brent's method between the
    last two points. If the edge of the parameter space (``lo_b``/``hi_b``) comes first, the
    edge is the end (``edge_is_end``) or NaN.
    """
    prev, h = est, step
    for _ in range(60):
        x = est + sign * h
        at_edge = False
        if x <= lo_b:
            x, at_edge = lo_b, True
        elif x >= hi_b:
            x, at_edge = hi_b, True
        if sign * (zeta(x) - sign * target) >= 0:
            return float(optimize.brentq(lambda v: zeta(v) - sign * target, min(prev, x),
                                         max(prev, x), xtol=1e-10 * max(1.0, abs(est)),
                                         rtol=1e-10))
        if at_edge:
            return float(x) if edge_is_end else float("nan")
        prev, h = x, h * 2
    return float("nan")


def _profile_intervals(inner, level, diagonal=False):
    prof = _Profile(inner, diagonal)
    target = float(stats.norm.ppf(1 - (1 - level) / 2))
    rows = []
    for w in range(len(prof.phi_hat)):
        rows.append(prof.interval_var(w, target))
    for j in range(prof.X.shape[1]):
        rows.append(prof.interval_fixed(j, target))
    return np.asarray(rows), prof


# --------------------------------------------------------------------------------------------
# parametric bootstrap
# --------------------------------------------------------------------------------------------
def _simulate_refits(inner, n_sim, seed, diagonal=False):
    """Simulate ``n_sim`` responses from the fitted model and refit each (same criterion).

    Returns an array with one row per successful refit: (sd/cor..., sigma, beta...), plus the
    relative covariance matrices (for derived quantities such as the ICC) and the failure count.
    """
    model = inner.model
    reml = bool(inner.reml)
    X = np.asarray(model.exog, dtype=float)
    Z = np.asarray(model.exog_re, dtype=float)
    codes = _codes(model)
    y = np.asarray(model.endog, dtype=float)
    pls = _PLS(X, Z, codes, y, diagonal)
    start = _chol_psd(np.asarray(inner.cov_re, dtype=float) / float(inner.scale))
    theta_hat, _ = pls.fit(start[pls.rows, pls.cols], reml=reml)
    L_hat = pls.lam(theta_hat)
    _, _, beta_hat, prss = pls.solve(L_hat)
    n, p = X.shape
    sigma_hat = float(np.sqrt(prss / (n - p if reml else n)))
    G_factor = L_hat * sigma_hat                    # b_g = G_factor @ N(0, I)
    mean = X @ beta_hat
    rng = np.random.default_rng(seed)
    out, Gs, failed = [], [], 0
    n_groups = pls.n_groups
    for _ in range(int(n_sim)):
        b = rng.standard_normal((n_groups, pls.k)) @ G_factor.T
        ystar = mean + np.einsum("ij,ij->i", Z, b[codes]) + sigma_hat * rng.standard_normal(n)
        pls.set_y(ystar)
        try:
            res = pls.minimize(theta_hat, reml, gtol=1e-6)
            theta = canonical_theta(pls, res.x)
            L = pls.lam(theta)
            _, _, beta, prss = pls.solve(L)
            ok = np.isfinite(res.fun) and prss > 0
        except (np.linalg.LinAlgError, ValueError):
            ok = False
        if not ok:
            failed += 1
            continue
        sigma = float(np.sqrt(prss / (n - p if reml else n)))
        out.append(np.concatenate([_theta_to_sdcor(L, sigma, diagonal), beta]))
        Gs.append(L @ L.T * sigma**2)
    if not out:
        raise RuntimeError(f"all {n_sim} bootstrap refits failed; check the model fit first")
    if failed:
        warnings.warn(
            f"{failed} of {n_sim} bootstrap refits failed and were dropped.",
            RuntimeWarning,
            stacklevel=3,
        )
    return np.asarray(out), np.asarray(Gs), failed


def _percentile(values, level):
    a = (1 - level) / 2
    return np.quantile(values, [a, 1 - a], axis=0).T


# --------------------------------------------------------------------------------------------
# public
# --------------------------------------------------------------------------------------------
def confint(result, level: float = 0.95, method: str = "profile", *, n_sim: int = 500,
            seed: int | None = None) -> pd.DataFrame:
    r"""Confidence intervals for the variance parameters and fixed effects of a mixed model.

    Like lme4's ``confint(m, method = ..., oldNames = FALSE)``: one row per random-effect
    standard deviation ``sd_<term>|<group>`` and correlation ``cor_<term>.<term>|<group>`` (in
    lme4's order: the lower triangle of the covariance matrix column by column), then the
    residual standard deviation ``sigma``, then the fixed effects under statsmodels' names.

    ``method="profile"`` (lme4's default) inverts the likelihood-ratio test. For a parameter
    :math:`\psi` let :math:`d(\psi)` be the ML deviance minimised over all other parameters and
    :math:`\hat d` its overall minimum; the signed root deviance

    .. math:: \zeta(\psi) = \operatorname{sign}(\psi - \hat\psi)\sqrt{d(\psi) - \hat d}

    is approximately standard normal, and the interval is
    :math:`\{\psi : |\zeta(\psi)| \le z_{1-\alpha/2}\}`. As in lme4 the profile is always that
    of the **ML** deviance, also for a REML fit (lme4 refits with ML before profiling), in the
    standard-deviation/correlation scale; a fixed effect is profiled by holding it at a value
    (an offset) and refitting everything else. The ends are found by root finding on
    :math:`\zeta` (lme4 interpolates a spline through a grid of profile points; the two agree to
    about 1e-4 relative). When the profile does not reach the cut-off before the edge of the
    parameter space, the edge is the end of the interval (0 for a standard deviation, -1 or 1
    for a correlation), as lme4 reports.

    ``method="boot"``: parametric bootstrap (lme4's ``bootMer`` with percentile intervals).
    ``n_sim`` responses are simulated from the fitted model,
    :math:`y^* = X\hat\beta + Zb^* + \varepsilon^*`, :math:`b^*\sim N(0,\hat G)`,
    :math:`\varepsilon^*\sim N(0,\hat\sigma^2 I)`; the model is refitted to each by the same
    criterion (REML or ML) as ``result``, and the interval is the :math:`\alpha/2` and
    :math:`1-\alpha/2` quantiles of the refitted estimates. Seeded with ``seed``; the Monte
    Carlo error of an end is roughly ``sd / sqrt(n_sim)`` times a factor of 2 to 3.

    Parameters
    ----------
    result : MixedLMResults
        A converged fit with one grouping factor (``groups=``, optional ``re_formula=``),
        with an unstructured or a diagonal (uncorrelated) random-effects covariance.
    level : float, default 0.95
        Confidence level; the columns are named as in R, e.g. ``"2.5 %"`` and ``"97.5 %"``.
    method : {"profile", "boot"}
    n_sim : int, default 500
        Bootstrap simulations (``method="boot"`` only).
    seed : int, optional
        Seed of ``numpy.random.default_rng`` (``method="boot"`` only).

    Returns
    -------
    pandas.DataFrame
        Two columns (lower, upper), rows as described; ``attrs`` holds ``method``, ``level`` and,
        for the bootstrap, ``n_sim`` (refits used) and ``n_failed``.

    Raises
    ------
    ValueError
        For a ``level`` outside (0, 1), an unknown ``method``, or ``n_sim < 10``.

    Warns
    -----
    UserWarning
        When the ML fit is singular (a relative standard deviation below 1e-4, which includes a
        correlation of +-1): its profiles can be non-monotone and the variance intervals are
        approximate (R warns about "non-monotonic profile" in the same situations).
    NotImplementedError
        For a fit with some, but not all, covariances held at zero (``free=``). Uncorrelated
        random effects (R's ``(x || g)``, a diagonal ``free`` pattern) are supported: their
        rows are the standard deviations only, as in lme4.

    References
    ----------
    Bates, D., Maechler, M., Bolker, B. & Walker, S. (2015). Fitting linear mixed-effects models
    using lme4. *Journal of Statistical Software* 67(1), sections 3 and 5.1.
    Davison, A. C. & Hinkley, D. V. (1997). *Bootstrap Methods and their Application*.
    Cambridge University Press, chapter 5 (percentile intervals).

    Examples
    --------
    >>> m = fit_tight(smf.mixedlm("Reaction ~ Days", sleep, groups="Subject",
    ...                           re_formula="~Days"))                    # doctest: +SKIP
    >>> confint(m)                                                       # doctest: +SKIP
    """
    from ._display import lmer_frame

    inner = validate_result(result)
    diagonal = _check_supported(inner)
    cols = _level_columns(level)
    model = inner.model
    names = _param_names(model, diagonal) + [str(n) for n in model.exog_names]
    if method == "profile":
        values, prof = _profile_intervals(inner, level, diagonal)
        if np.any(np.abs(prof.theta_hat[prof.pls.diag]) < 1e-4):
            warnings.warn(
                "confint: the ML fit that lme4 profiles is singular (a random-effect variance "
                "at 0 or a correlation at +-1, lme4's isSingular rule). Its profiles can be "
                "non-monotone (lme4 warns 'non-monotonic profile'), so the intervals of the "
                "variance parameters are approximate: ends at 0 or +-1 only say that the data "
                "cannot rule those values out. Simplify the random effects, or compare with "
                "method='boot'.",
                UserWarning,
                stacklevel=2,
            )
        frame = pd.DataFrame(values, index=names, columns=cols)
        frame.attrs.update(method="profile", level=level)
    elif method == "boot":
        n_sim = int(n_sim)
        if n_sim < 10:
            raise ValueError(f"n_sim must be at least 10 for a bootstrap interval, got {n_sim}")
        draws, _, failed = _simulate_refits(inner, n_sim, seed, diagonal)
        frame = pd.DataFrame(_percentile(draws, level), index=names, columns=cols)
        frame.attrs.update(method="boot", level=level, n_sim=int(draws.shape[0]),
                           n_failed=int(failed))
    else:
        raise ValueError(f"method must be 'profile' or 'boot', got {method!r}")
    return lmer_frame(frame, kind="confint")


def _icc_from_G(G, Z, sigma2):
    r"""Adjusted ICC :math:`v_r/(v_r + \sigma^2)` with :math:`v_r` the mean of
    :math:`z_i'Gz_i` over the rows (Johnson 2014; ``performance::icc``)."""
    v_r = float(np.mean(np.einsum("ij,jk,ik->i", Z, G, Z)))
    return v_r / (v_r + sigma2)


def icc_interval(result, n_sim: int = 1000, seed: int | None = None,
                 level: float = 0.95) -> pd.DataFrame:
    r"""Parametric-bootstrap percentile interval for the (adjusted) intraclass correlation.

    The ICC is :math:`v_r / (v_r + \sigma^2_e)` with :math:`v_r` the random-effect variance;
    for a random intercept :math:`v_r = \sigma^2_u` and the ICC is
    :math:`\sigma^2_u/(\sigma^2_u + \sigma^2_e)`; with random slopes :math:`v_r` is the mean of
    :math:`z_i' G z_i` over the observations (Johnson 2014; ``performance::icc``, "adjusted").
    ``n_sim`` responses are simulated from the fitted model, the model is refitted to each
    (same criterion as ``result``), the ICC is recomputed, and the interval is made of the
    :math:`\alpha/2` and :math:`1-\alpha/2` quantiles of the simulated ICCs (percentile
    interval). It respects the range [0, 1], unlike "estimate ± 2 SE".

    Parameters
    ----------
    result : MixedLMResults
    n_sim : int, default 1000
    seed : int, optional
        Seed of ``numpy.random.default_rng``.
    level : float, default 0.95

    Returns
    -------
    pandas.DataFrame
        One row ``ICC`` with columns ``estimate`` and the two ends (e.g. ``"2.5 %"``,
        ``"97.5 %"``); ``attrs`` holds ``n_sim`` (refits used), ``n_failed`` and ``draws``
        (the simulated ICCs, a tuple).

    References
    ----------
    Johnson, P. C. D. (2014). Extension of Nakagawa & Schielzeth's R2GLMM to random slopes
    models. *Methods in Ecology and Evolution* 5, 944-946.
    Davison, A. C. & Hinkley, D. V. (1997). *Bootstrap Methods and their Application*, ch. 5.
    """
    from ._display import lmer_frame

    inner = validate_result(result)
    diagonal = _check_supported(inner)
    cols = _level_columns(level)
    n_sim = int(n_sim)
    if n_sim < 10:
        raise ValueError(f"n_sim must be at least 10 for a bootstrap interval, got {n_sim}")
    Z = np.asarray(inner.model.exog_re, dtype=float)
    est = _icc_from_G(np.asarray(inner.cov_re, dtype=float), Z, float(inner.scale))
    draws, Gs, failed = _simulate_refits(inner, n_sim, seed, diagonal)
    sigma2 = draws[:, len(_param_names(inner.model, diagonal)) - 1] ** 2
    iccs = np.array([_icc_from_G(G, Z, s2) for G, s2 in zip(Gs, sigma2, strict=True)])
    lo, hi = np.quantile(iccs, [(1 - level) / 2, 1 - (1 - level) / 2])
    frame = pd.DataFrame({"estimate": [est], cols[0]: [lo], cols[1]: [hi]}, index=["ICC"])
    frame.attrs.update(method="boot", level=level, n_sim=int(iccs.size), n_failed=int(failed),
                       draws=tuple(float(v) for v in iccs))
    return lmer_frame(frame, kind="confint")
