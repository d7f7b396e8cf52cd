r"""The fitting engine: lme4's profiled criterion for one-factor statsmodels ``MixedLM`` models.

:func:`fit_tight` maximises lme4's profiled (RE)ML deviance over the relative covariance factor
:math:`\theta` with an analytic gradient and builds the statsmodels results object at that
optimum; there is no second optimisation by statsmodels.

Internal API (used by the comparison, bootstrap, transformation and profile-interval modules)
--------------------------------------------------------------------------------------------
``_Profiled(model, mask=None)``
    The profiled deviance of ``model``. ``mask`` (``k x k`` boolean, lower triangle) marks the
    free elements of :math:`\Lambda` (``None``: all, i.e. correlated random effects;
    ``np.eye(k, dtype=bool)``: uncorrelated). ``theta`` is the vector of the free elements,
    lower triangle row by row (``prof.rows``, ``prof.cols`` give their positions).
``prof.deviance(theta, reml)`` / ``prof.deviance_grad(theta, reml)``
    :math:`-2\ell` with :math:`\beta` and :math:`\sigma` profiled out (and its gradient).
``prof.deviance_sigma(theta, sigma, reml)``
    :math:`-2\ell` at a given residual SD :math:`\sigma` (only :math:`\beta` profiled out).
``prof.fit(reml, starts=(), fixed=None)``
    ``(theta, loglik)`` at the optimum; ``fixed={index: value}`` holds elements of ``theta``
    fixed (a constrained refit, e.g. for likelihood profiles).
``prof.fix_beta(j, value)``
    A new ``_Profiled`` in which fixed effect ``j`` is held at ``value`` (an offset).
``prof.results(theta, reml)``
    A statsmodels ``MixedLMResultsWrapper`` at ``theta`` (no optimisation).
``prof.set_y(y)``
    Swap the response (bootstrap, Box-Cox): only cross-products are recomputed.
"""

from __future__ import annotations

import warnings

import numpy as np

from ._core import _chol_psd, _free_pattern, _pattern_mask

__all__ = ["fit_tight"]


# --------------------------------------------------------------------------------------------
# The profiled criterion
# --------------------------------------------------------------------------------------------
class _Profiled:
    r"""Profiled deviance of a one-factor LMM as a function of lme4's :math:`\theta`.

    :math:`\Lambda` is lower triangular with :math:`\Lambda\Lambda' = G / \sigma^2`
    (:math:`\theta` = its free elements, lower triangle row by row). Per group
    :math:`M_g = I + \Lambda' Z_g' Z_g \Lambda`, so that
    :math:`\log|V_g / \sigma^2| = \log|M_g|` and
    :math:`\sigma^2 V_g^{-1} = I - Z_g\Lambda M_g^{-1}\Lambda' Z_g'`; with
    :math:`r = y - X\hat\beta(\theta)` and the penalised residual sum of squares
    :math:`\text{RSS} = r'\sigma^2 V^{-1} r`,

    .. math:: d_\text{ML} = \sum_g \log|M_g| + n\left(1 + \log\frac{2\pi\,\text{RSS}}{n}
              \right), \quad
              d_\text{REML} = \sum_g \log|M_g| + \log|X'\sigma^2V^{-1}X|
              + (n-p)\left(1 + \log\frac{2\pi\,\text{RSS}}{n-p}\right),

    exactly lme4's criteria (Bates et al. 2015, section 3). Only ``k x k`` matrices per group
    are formed, all groups at once (batched numpy), from the cross-products of
    :math:`[Z_g, X_g, y_g]`, so a new response needs only new cross-products.

    The gradient is analytic: with the conditional modes :math:`u_g = M_g^{-1}\Lambda'Z_g'r_g`,
    the residual :math:`e_g = y_g - X_g\hat\beta - Z_g\Lambda u_g`,
    :math:`W_g = Z_g'\sigma^2V_g^{-1}X_g` and :math:`\Phi = (X'\sigma^2V^{-1}X)^{-1}`,

    .. math:: \frac{\partial\,\text{RSS}}{\partial\Lambda_{ij}} = -2\sum_g (Z_g'e_g)_i u_{gj},
              \quad \frac{\partial \sum\log|M_g|}{\partial\Lambda_{ij}}
              = 2\sum_g (Z_g'Z_g\Lambda M_g^{-1})_{ij},
              \quad \frac{\partial \log|X'\sigma^2V^{-1}X|}{\partial\Lambda_{ij}}
              = -2\sum_g (W_g\Phi W_g'\Lambda)_{ij}.
    """

    def __init__(self, model, mask=None):
        X = np.asarray(model.exog, dtype=float)
        Z = np.asarray(model.exog_re, dtype=float)
        _, codes = np.unique(np.asarray(model.groups), return_inverse=True)
        self.model = model
        self.codes = codes
        self.n_groups = int(codes.max()) + 1
        self.n, self.p = X.shape
        self.k = Z.shape[1]
        self.X, self.Z = X, Z
        if mask is None:
            mask = np.tril(np.ones((self.k, self.k), dtype=bool))
        self.mask = np.asarray(mask, dtype=bool)
        rows, cols = np.tril_indices(self.k)
        keep = self.mask[rows, cols]
        self.rows, self.cols = rows[keep], cols[keep]
        self.diag = self.rows == self.cols
        self.ZtZ = self._gsum(np.einsum("ij,ik->ijk", Z, Z))
        self.ZtX = self._gsum(np.einsum("ij,ik->ijk", Z, X))
        self.XtX = X.T @ X
        self.offset = np.zeros(self.n)
        self.set_y(np.asarray(model.endog, dtype=float))

    def _gsum(self, a):
        out = np.zeros((self.n_groups,) + a.shape[1:])
        np.add.at(out, self.codes, a)
        return out

    def set_y(self, y):
        """Use response ``y`` (cross-products only; the design stays)."""
        y = np.asarray(y, dtype=float) - self.offset
        self.y = y
        self.Zty = self._gsum(self.Z * y[:, None])
        self.Xty = self.X.T @ y
        self.yty = float(y @ y)
        # cross-products of [X, y] and Z'[X, y]
        p = self.p
        self.XyXy = np.empty((p + 1, p + 1))
        self.XyXy[:p, :p] = self.XtX
        self.XyXy[:p, p] = self.XyXy[p, :p] = self.Xty
        self.XyXy[p, p] = self.yty
        self.ZtXy = np.concatenate([self.ZtX, self.Zty[:, :, None]], axis=2)

    def fix_beta(self, j, value):
        """A new ``_Profiled`` with fixed effect ``j`` held at ``value`` (column j as an offset)."""
        new = object.__new__(_Profiled)
        new.__dict__.update(self.__dict__)
        keep = [c for c in range(self.p) if c != j]
        new.offset = self.offset + value * self.X[:, j]
        new.X = self.X[:, keep]
        new.p = self.p - 1
        new.ZtX = self.ZtX[:, :, keep]
        new.XtX = new.X.T @ new.X
        new.set_y(self.y + self.offset)
        return new

    def lam(self, theta):
        L = np.zeros((self.k, self.k))
        L[self.rows, self.cols] = theta
        return L

    def theta_from(self, inner):
        """lme4's theta of a statsmodels fit (relative lower Cholesky factor of cov_re)."""
        L = _chol_psd(np.asarray(inner.cov_re, dtype=float) / float(inner.scale))
        return L[self.rows, self.cols]

    def default_start(self):
        """lme4's start: identity Lambda."""
        return np.where(self.diag, 1.0, 0.0)

    def _core(self, theta):
        L = self.lam(theta)
        AL = self.ZtZ @ L  # (G, k, k)
        M = L.T @ AL + np.eye(self.k)
        Minv = np.linalg.inv(M)
        sign, logdets = np.linalg.slogdet(M)
        R = L.T @ self.ZtXy  # (G, k, p+1): [B, c]
        MR = Minv @ R
        W = self.XyXy - np.tensordot(R, MR, axes=([0, 1], [0, 1]))
        p = self.p
        xtwx, xtwy, ytwy = W[:p, :p], W[:p, p], W[p, p]
        return L, AL, Minv, float(np.sum(logdets)), MR, xtwx, xtwy, ytwy

    def parts(self, theta):
        """``(sum log|M_g|, X'V*^-1X, beta, RSS)`` at theta."""
        _, _, _, logdet, _, xtwx, xtwy, ytwy = self._core(theta)
        beta = np.linalg.solve(xtwx, xtwy)
        rss = ytwy - float(beta @ xtwy)
        return logdet, xtwx, beta, rss

    def deviance(self, theta, reml):
        """lme4's profiled deviance (-2 log-likelihood, REML or ML) at theta."""
        return self.deviance_grad(theta, reml, grad=False)

    def deviance_grad(self, theta, reml, grad=True):
        """``(deviance, gradient)`` at theta (``grad=False``: the deviance only)."""
        try:
            L, AL, Minv, logdet, MR, xtwx, xtwy, ytwy = self._core(np.asarray(theta, float))
            cx = np.linalg.cholesky(xtwx)
            beta = np.linalg.solve(xtwx, xtwy)
        except np.linalg.LinAlgError:
            return (np.inf, np.zeros(len(theta))) if grad else np.inf
        rss = ytwy - float(beta @ xtwy)
        if not (rss > 0 and np.isfinite(rss)):
            return (np.inf, np.zeros(len(theta))) if grad else np.inf
        nu = self.n - self.p if reml else self.n
        dev = logdet + nu * (1 + np.log(2 * np.pi * rss / nu))
        if reml:
            dev += 2.0 * float(np.sum(np.log(np.diag(cx))))
        if not grad:
            return dev
        p = self.p
        u = MR[:, :, p] - MR[:, :, :p] @ beta  # conditional modes (G, k)
        zres = self.Zty - self.ZtX @ beta - np.einsum("gij,gj->gi", AL, u)
        g_rss = -2.0 * zres.T @ u  # (k, k): d RSS / d Lambda_ij
        g_ld = 2.0 * np.sum(AL @ Minv, axis=0)
        gm = g_ld + nu * g_rss / rss
        if reml:
            Wg = self.ZtX - AL @ MR[:, :, :p]  # (G, k, p)
            Phi = np.linalg.inv(xtwx)
            WPW = np.einsum("gip,pq,gjq->ij", Wg, Phi, Wg)
            gm = gm - 2.0 * WPW @ L
        return dev, gm[self.rows, self.cols]

    def deviance_sigma(self, theta, sigma, reml):
        r"""-2 log-likelihood at relative factor theta and residual SD ``sigma`` (beta profiled).

        .. math:: d = \sum_g\log|M_g| + \nu\log(2\pi\sigma^2) + \text{RSS}/\sigma^2
                  \;[+ \log|X'\sigma^2V^{-1}X| - p\log\sigma^2 \text{ for REML}],

        with :math:`\nu = n` (ML) or :math:`n - p` (REML); at :math:`\sigma^2 = \text{RSS}/\nu`
        it equals :meth:`deviance`.
        """
        logdet, xtwx, _, rss = self.parts(np.asarray(theta, float))
        s2 = float(sigma) ** 2
        nu = self.n - self.p if reml else self.n
        dev = logdet + nu * np.log(2 * np.pi * s2) + rss / s2
        if reml:
            dev += np.linalg.slogdet(xtwx)[1]
        return float(dev)

    def fit(self, reml, starts=(), polish=False, fixed=None):
        r"""Minimise the deviance over theta; return ``(theta, loglik)``.

        The deviance depends on theta only through :math:`\Lambda\Lambda'`, so it is unchanged
        when a column of :math:`\Lambda` changes sign: it can be minimised without bounds, and
        a point on lme4's boundary (a diagonal element at 0) is then an ordinary interior point
        where no bound can trap the search (lme4's bounded default optimiser stops at such a
        false optimum on R's ``Orange`` data). BFGS with the analytic gradient runs from lme4's
        start (identity) and from each of ``starts``; when the best optimum is near the
        boundary it is also restarted from strongly correlated starts of both signs. Columns
        are then given a non-negative diagonal, and diagonal elements below 1e-4 are set to
        exactly 0 when that does not raise the deviance by more than 1e-9 (lme4's optimiser
        lands exactly on the boundary too). ``fixed={index: value}`` holds those elements of
        theta fixed (a constrained refit). ``polish`` is accepted for backward compatibility.
        """
        from scipy import optimize

        fixed = dict(fixed or {})
        free_idx = np.array([i for i in range(len(self.rows)) if i not in fixed], dtype=int)
        base = np.zeros(len(self.rows))
        for i, v in fixed.items():
            base[i] = v

        def full(x):
            t = base.copy()
            t[free_idx] = x
            return t

        def fun(x):
            d, g = self.deviance_grad(full(x), reml)
            return d, g[free_idx]

        if len(free_idx) == 0:
            return base, -0.5 * self.deviance(base, reml)

        def run(start):
            x0 = np.asarray(start, dtype=float)[free_idx]
            with np.errstate(all="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                res = optimize.minimize(fun, x0, jac=True, method="BFGS",
                                        options=dict(gtol=1e-6, maxiter=500))
            return res.x, float(res.fun)

        best_x, best_f = None, np.inf
        for start in [self.default_start(), *starts]:
            x, f = run(start)
            if np.isfinite(f) and f < best_f:
                best_x, best_f = x, f
        near_edge = best_x is None or np.any(np.abs(full(best_x)[self.diag]) < 1e-3)
        if near_edge and self.k > 1:
            for scale in (1.0, 0.2):
                for sgn in (1.0, -1.0):
                    x, f = run(scale * np.where(self.diag, 0.5, sgn * 0.5))
                    if np.isfinite(f) and f < best_f - 1e-10:
                        best_x, best_f = x, f
        if best_x is None or not np.isfinite(best_f):
            raise RuntimeError("the profiled deviance could not be evaluated at any start")
        theta = full(best_x)
        # canonical signs: non-negative diagonal (a column sign flip leaves Lambda Lambda' as is)
        L = self.lam(theta)
        fixed_cols = {int(self.cols[i]) for i in fixed}
        for j in range(self.k):
            if j not in fixed_cols and L[j, j] < 0:
                L[:, j] = -L[:, j]
        theta = L[self.rows, self.cols]
        dev = best_f
        for i in np.flatnonzero(self.diag):
            if i not in fixed and 0 < theta[i] < 1e-4:
                trial = theta.copy()
                trial[i] = 0.0
                d = self.deviance(trial, reml)
                if d <= dev + 1e-9:
                    theta, dev = trial, min(d, dev)
        return theta, -0.5 * dev

    def start_params(self, theta):
        """statsmodels MixedLMParams at theta (fixed effects at their GLS values)."""
        from statsmodels.regression.mixed_linear_model import MixedLMParams

        beta = self.parts(theta)[2]
        return MixedLMParams.from_components(fe_params=beta, cov_re_sqrt=self.lam(theta),
                                             vcomp=np.zeros(0))

    def results(self, theta, reml):
        """statsmodels results at theta, built as ``MixedLM.fit`` builds them (no optimiser)."""
        from statsmodels.regression.mixed_linear_model import (
            MixedLMParams,
            MixedLMResultsWrapper,
        )

        model = self.model
        if np.any(self.offset != 0):
            raise RuntimeError("results() is not available after fix_beta()")
        theta = np.asarray(theta, dtype=float)
        L = self.lam(theta)
        _, _, beta, rss = self.parts(theta)
        nu = self.n - self.p if reml else self.n
        scale = rss / nu
        free = _free_pattern(self.mask, self.p)
        model.reml = bool(reml)
        model.cov_pen = None
        model.fe_pen = None
        model._cov_sing = 0
        model._freepat = free
        params = MixedLMParams.from_components(fe_params=beta, cov_re_sqrt=L, vcomp=np.zeros(0))
        cov_re_unscaled = L @ L.T
        # statsmodels' Hessian (for bse / summary) is a slow loop over groups: compute it
        # only when asked for (_LazyResults)
        packed = params.get_packed(use_sqrt=False, has_fe=True)
        res = _LazyResults(model, packed, None)
        res._hess_args = (L, beta, free, scale)
        res.params_object = params
        res.fe_params = beta
        res.cov_re = scale * cov_re_unscaled
        res.vcomp = np.zeros(0)
        res.scale = scale
        res.cov_re_unscaled = cov_re_unscaled
        res.method = "REML" if reml else "ML"
        res.converged = True
        res.hist = None
        res.reml = bool(reml)
        res.cov_pen = None
        res.k_fe = model.k_fe
        res.k_re = model.k_re
        res.k_re2 = model.k_re2
        res.k_vc = model.k_vc
        res.use_sqrt = model.use_sqrt
        res.freepat = free
        res.mle_retvals = {"converged": True, "optimizer": "lmmcourse profiled L-BFGS-B"}
        # log-likelihood from lme4's criterion (statsmodels' own cannot handle a singular cov_re)
        if getattr(res, "_cache", None) is None:
            res._cache = {}
        res._cache["llf"] = -0.5 * self.deviance(theta, reml)
        return MixedLMResultsWrapper(res)


def _lazy_results_class():
    from statsmodels.regression.mixed_linear_model import MixedLMParams, MixedLMResults

    class _LazyResults(MixedLMResults):
        """``MixedLMResults`` whose parameter covariance (statsmodels' Hessian) is computed on
        first use: ``MixedLM.fit`` computes it eagerly, and it costs more than the fit."""

        @property
        def normalized_cov_params(self):
            ncp = self.__dict__.get("_ncp")
            if ncp is None and "_hess_args" in self.__dict__:
                ncp = self._compute_ncp()
                self.__dict__["_ncp"] = ncp
            return ncp

        @normalized_cov_params.setter
        def normalized_cov_params(self, value):
            self.__dict__["_ncp"] = value

        def _blup_parts(self):
            r"""Per-group BLUPs and conditional covariances, without inverting ``cov_re``.

            :math:`\hat b_g = G Z_g'V_g^{-1}r_g`, :math:`G - G Z_g'V_g^{-1}Z_gG`: statsmodels
            inverts ``cov_re`` and fails on a singular (boundary) fit.
            """
            import pandas as pd

            cached = self.__dict__.get("_blups")
            if cached is not None:
                return cached
            model = self.model
            G = np.asarray(self.cov_re, dtype=float)
            beta = np.asarray(self.fe_params, dtype=float)
            names = list(model.data.exog_re_names)
            effects, covs = {}, {}
            for label in model.group_labels:
                idx = model.row_indices[label]
                Zg = np.asarray(model.exog_re)[idx]
                rg = np.asarray(model.endog)[idx] - np.asarray(model.exog)[idx] @ beta
                V = Zg @ G @ Zg.T + self.scale * np.eye(len(idx))
                GZt = G @ Zg.T
                sol = np.linalg.solve(V, np.column_stack([rg, GZt.T]))
                effects[label] = pd.Series(GZt @ sol[:, 0], index=names)
                covs[label] = pd.DataFrame(G - GZt @ sol[:, 1:], index=names, columns=names)
            self.__dict__["_blups"] = (effects, covs)
            return effects, covs

        @property
        def random_effects(self):
            return self._blup_parts()[0]

        @property
        def random_effects_cov(self):
            return self._blup_parts()[1]

        def _compute_ncp(self):
            L, beta, free, scale = self._hess_args
            model = self.model
            k, p = L.shape[0], len(beta)
            # statsmodels' Hessian inverts cov_re: evaluate it just inside a boundary
            Lh = L.copy()
            Lh[np.diag_indices(k)] = np.maximum(np.diag(L), 1e-6)
            hp = MixedLMParams.from_components(fe_params=beta, cov_re_sqrt=Lh, vcomp=np.zeros(0))
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    hess, _ = model.hessian(hp)
                if free is not None:
                    pcov = np.zeros_like(hess)
                    ii = np.flatnonzero(free.get_packed(use_sqrt=False, has_fe=True))
                    pcov[np.ix_(ii, ii)] = np.linalg.inv(-hess[np.ix_(ii, ii)])
                else:
                    pcov = np.linalg.inv(-hess)
            except (np.linalg.LinAlgError, ValueError):
                k2 = k * (k + 1) // 2
                pcov = np.full((p + k2, p + k2), np.nan)
            return pcov / scale

    _LazyResults.__module__ = __name__
    _LazyResults.__qualname__ = _LazyResults.__name__ = "_LazyMixedLMResults"
    return _LazyResults


_LAZY = None


def _lazy_class():
    global _LAZY
    if _LAZY is None:
        _LAZY = _lazy_results_class()
    return _LAZY


def _LazyResults(*args):
    return _lazy_class()(*args)


def __getattr__(name):
    # the results class is made on first use (statsmodels is imported lazily); pickle finds it
    # here by its name
    if name == "_LazyMixedLMResults":
        return _lazy_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _theta_start(prof, model, start_params):
    """Theta of a statsmodels start (MixedLMParams or packed array), or None."""
    from statsmodels.regression.mixed_linear_model import MixedLMParams

    if start_params is None:
        return None
    if isinstance(start_params, MixedLMParams):
        par = start_params
    else:
        arr = np.asarray(start_params, dtype=float)
        has_fe = arr.size == model.k_fe + model.k_re2 + model.k_vc
        par = MixedLMParams.from_packed(arr, model.k_fe, model.k_re, use_sqrt=model.use_sqrt,
                                        has_fe=has_fe)
    L = _chol_psd(np.asarray(par.cov_re, dtype=float))
    return L[prof.rows, prof.cols]


def fit_tight(model, reml=True, start_params=None, correlated=None, free=None):
    r"""Fit a statsmodels ``MixedLM`` at lme4's optimum, fast, and exactly on a boundary.

    lme4's profiled deviance (see :class:`_Profiled`: :math:`\beta` and :math:`\sigma`
    profiled out, a function of the relative covariance factor :math:`\theta` only) is
    minimised by BFGS with its analytic gradient, from lme4's start and from ``start_params``.
    The deviance depends on :math:`\theta` only through :math:`\Lambda\Lambda'`, so no
    bounds are needed, and a boundary point (a variance of zero or a correlation of
    :math:`\pm 1`) is an ordinary point of the search that cannot trap it; lme4's bounded
    default optimiser does stop at a false optimum on R's ``Orange`` data, which this finds.
    Near a boundary the search is also restarted from strongly correlated starts of both signs
    and the best optimum is kept, and diagonal elements of :math:`\Lambda` below 1e-4 are set
    to exactly 0 when that does not lower the log-likelihood by more than 5e-10.

    The statsmodels results object is then built at that optimum, as ``MixedLM.fit`` builds it,
    without a second optimisation: a boundary fit stays exactly on the boundary (``cov_re``
    singular, flagged by :func:`check_singular` as lme4's ``isSingular``), ``llf`` is lme4's
    log-likelihood (statsmodels' own cannot be evaluated at a singular ``cov_re``), and every
    function of :mod:`lmmcourse.stats` works at the true optimum. statsmodels' parameter
    covariance (``bse``, ``summary()``) is computed when first used, just inside a boundary.

    Parameters
    ----------
    model : statsmodels.regression.mixed_linear_model.MixedLM
        An unfitted model with one grouping factor, e.g.
        ``smf.mixedlm("y ~ x", data, groups="g", re_formula="~x")``.
    reml : bool, default True
        REML (True, lme4's default) or maximum likelihood (False).
    start_params : MixedLMParams or array_like, optional
        An extra starting point, e.g. ``other_result.params_object``.
    correlated : bool, optional
        ``False``: uncorrelated random effects (a diagonal covariance matrix), R's
        ``(x || g)``; the result then carries the matching ``freepat`` and every function of
        :mod:`lmmcourse.stats` treats the covariances as fixed at 0. Default: all covariances
        free (``(x | g)``).
    free : MixedLMParams, optional
        statsmodels' way of saying the same (as for ``MixedLM.fit(free=...)``), e.g.
        ``MixedLMParams.from_components(np.ones(k_fe), np.eye(k_re))``. Diagonal and
        block-diagonal patterns are supported.

    Returns
    -------
    MixedLMResultsWrapper
        As ``model.fit()`` returns; ``mle_retvals["optimizer"]`` says how it was fitted.

    Raises
    ------
    TypeError
        If ``model`` is not an unfitted ``MixedLM`` or ``free`` is not a ``MixedLMParams``.
    NotImplementedError
        For a ``free`` pattern that does not fix covariances at 0, or fixes a variance.
    RuntimeError
        If no optimiser converged (models with variance components, ``vc_formula=``, use
        statsmodels' optimisers).

    References
    ----------
    Bates, D., Maechler, M., Bolker, B. & Walker, S. (2015). Fitting linear mixed-effects models
    using lme4. *Journal of Statistical Software* 67(1), section 3.

    Examples
    --------
    >>> import statsmodels.formula.api as smf
    >>> m0 = fit_tight(smf.mixedlm("sbp ~ 1", clinics, groups="clinic_id"))  # doctest: +SKIP
    >>> m_u = fit_tight(smf.mixedlm("y ~ x", d, groups="g", re_formula="~x"),
    ...                 correlated=False)  # doctest: +SKIP
    """
    from statsmodels.regression.mixed_linear_model import MixedLM

    if not isinstance(model, MixedLM):
        raise TypeError(
            f"fit_tight expects an unfitted statsmodels MixedLM (smf.mixedlm(...)), got "
            f"{type(model).__name__}"
        )
    if getattr(model, "k_vc", 0) or model.k_re == 0:
        if correlated is not None or free is not None:
            raise NotImplementedError(
                "correlated= and free= are supported for models with groups= and re_formula= "
                "only (no vc_formula=)"
            )
        return _fit_statsmodels(model, reml, start_params)
    mask = _pattern_mask(model, free=free, correlated=correlated)
    prof = _Profiled(model, mask)
    start = _theta_start(prof, model, start_params)
    theta, _ = prof.fit(bool(reml), starts=[] if start is None else [start])
    return prof.results(theta, bool(reml))


def _fit_statsmodels(model, reml=True, start_params=None):
    """statsmodels' own optimisers (for models the profiled engine does not cover)."""
    results, problems = [], []
    for method in (None, ["lbfgs"], ["powell", "lbfgs"]):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                kw = {} if method is None else {"method": method}
                res = model.fit(reml=reml, start_params=start_params, **kw)
        except (np.linalg.LinAlgError, ValueError, FloatingPointError) as err:
            problems.append(f"{method or 'default optimisers'}: {err}")
            continue
        if res.converged and np.isfinite(res.llf):
            results.append(res)
        else:
            problems.append(f"{method or 'default optimisers'}: did not converge")
    if not results:
        raise RuntimeError(
            "no optimiser converged for the mixed model (" + "; ".join(problems) + "). Try "
            "rescaling the response and covariates, or simplify the random effects."
        )
    return max(results, key=lambda r: r.llf)
