r"""Small-sample t and F tests for fixed effects: Satterthwaite and Kenward-Roger.

Both methods need, for the variance parameters :math:`\gamma` of the model, the covariance of the
fixed effects :math:`\Phi(\gamma) = (X'V^{-1}X)^{-1}`, its derivatives, and the (observed or
expected) information of the REML likelihood. Everything is computed analytically and cluster by
cluster from the Woodbury form

.. math:: V_g^{-1} = \sigma^{-2}\bigl(I - Z_g C_g Z_g'\bigr),\qquad
          C_g = (\sigma^2 I + G Z_g'Z_g)^{-1} G,

which stays valid when :math:`G` is singular. Only the per-cluster cross-product matrix of
:math:`[X_g, Z_g, y_g]` touches the data; the rest works on small ``k x k`` and ``p x p`` arrays,
batched over clusters. No ``n x n`` matrix is formed.

References
----------
Satterthwaite, F. E. (1946). An approximate distribution of estimates of variance components.
*Biometrics Bulletin* 2(6):110-114.

Kuznetsova, A., Brockhoff, P. B. & Christensen, R. H. B. (2017). lmerTest package: tests in linear
mixed effects models. *Journal of Statistical Software* 82(13):1-26.

Kenward, M. G. & Roger, J. H. (1997). Small sample inference for fixed effects from restricted
maximum likelihood. *Biometrics* 53(3):983-997.

Halekoh, U. & Højsgaard, S. (2014). A Kenward-Roger approximation and parametric bootstrap methods
for tests in linear mixed models - the R package pbkrtest. *Journal of Statistical Software*
59(9):1-32.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy import stats

from ._core import _chol_psd, check_singular, model_arrays

__all__ = [
    "kenward_roger",
    "kenward_roger_f",
    "satterthwaite",
    "satterthwaite_f",
]

_HESS_TOL = 1e-8  # lmerTest: eigenvalues of the deviance Hessian within +-1e-8 count as zero
_TABLE_COLUMNS = ["estimate", "std_error", "df", "t", "p_value"]


# --------------------------------------------------------------------------------------------
# the engine: analytic derivatives summed over clusters
# --------------------------------------------------------------------------------------------


class _Engine:
    """Sums over clusters of everything both methods need, for the linear structure
    :math:`V = \\sum_r \\gamma_r A_r` (``A_r = Z dG_r Z'`` or ``I`` for the residual).

    Attributes (``p`` fixed effects, ``R`` variance parameters)
    ----------
    Phi : (p, p)       (X'V^-1X)^-1
    K : (R, p, p)      X'V^-1 A_r V^-1 X            (pbkrtest's P_r = -K_r)
    Q : (R, R, p, p)   X'V^-1 A_r V^-1 A_s V^-1 X
    tr2 : (R, R)       tr(V^-1 A_r V^-1 A_s)
    trA : (R,)         tr(V^-1 A_r)
    tres : (R, p)      X'V^-1 A_r V^-1 r            (r = y - X beta)
    eres : (R,)        r'V^-1 A_r V^-1 r
    ures : (R, R)      r'V^-1 A_r V^-1 A_s V^-1 r
    """

    def __init__(self, arr):
        self.arr = arr
        p, k = arr.n_fe, arr.G.shape[0]
        q = p + k + 1
        xi, zi, ri = np.arange(p), np.arange(p, p + k), p + k
        n_groups = len(arr.y)
        # per-cluster Gram matrices of W = [X, Z, r] (the only pass over the data)
        WW = np.empty((n_groups, q, q))
        m = np.empty(n_groups)
        for g, (yg, Xg, Zg) in enumerate(zip(arr.y, arr.X, arr.Z, strict=True)):
            Wg = np.column_stack([Xg, Zg, yg - Xg @ arr.beta])
            WW[g] = Wg.T @ Wg
            m[g] = len(yg)
        s2, G = arr.sigma2, arr.G
        ZZ = WW[:, zi][:, :, zi]
        ZW = WW[:, zi, :]
        C = np.linalg.solve(s2 * np.eye(k) + G @ ZZ, np.broadcast_to(G, ZZ.shape))
        C = 0.5 * (C + np.swapaxes(C, 1, 2))
        # (I - Z C Z')^j = I + Z F_j Z'
        F1 = -C
        F2 = F1 - C - F1 @ ZZ @ C
        F3 = F2 - C - F2 @ ZZ @ C

        def quad(F, power):
            return (WW + np.swapaxes(ZW, 1, 2) @ F @ ZW) / s2**power

        S1, S2, S3 = quad(F1, 1), quad(F2, 2), quad(F3, 3)
        trV1 = np.sum(m + np.einsum("gij,gji->g", F1, ZZ)) / s2
        trV2 = np.sum(m + np.einsum("gij,gji->g", F2, ZZ)) / s2**2

        a = np.concatenate([xi, [ri]])  # rows/columns we need: X and the residual
        S1az, S2az = S1[:, a][:, :, zi], S2[:, a][:, :, zi]
        S1zz = S1[:, zi][:, :, zi]
        S2zz_sum = S2[:, zi][:, :, zi].sum(axis=0)
        S2aa_sum, S3aa_sum = S2[:, a][:, :, a].sum(axis=0), S3[:, a][:, :, a].sum(axis=0)

        dGs = [dG for _, dG in arr.var_params]
        delta = np.array([0.0] * (len(dGs) - 1) + [1.0])
        R = len(dGs)
        M = [S1az @ dG for dG in dGs]  # (J, p+1, k)
        MS = [Mr @ S1zz for Mr in M]
        D = [dG @ S1zz for dG in dGs]  # (J, k, k)

        T = np.empty((R, p + 1, p + 1))
        U = np.empty((R, R, p + 1, p + 1))
        tr2 = np.empty((R, R))
        trA = np.empty(R)
        for r in range(R):
            T[r] = np.einsum("gik,gjk->ij", M[r], S1az) + delta[r] * S2aa_sum
            trA[r] = np.einsum("gii->", D[r]) + delta[r] * trV1
            for s in range(r, R):
                Urs = np.einsum("gik,gjk->ij", MS[r], M[s])
                if delta[s]:
                    Urs = Urs + np.einsum("gik,gjk->ij", M[r], S2az)
                if delta[r]:
                    Urs = Urs + np.einsum("gik,gjk->ij", M[s], S2az).T
                if delta[r] and delta[s]:
                    Urs = Urs + S3aa_sum
                U[r, s], U[s, r] = Urs, Urs.T
                t = np.einsum("gij,gji->", D[r], D[s])
                t += delta[s] * np.sum(dGs[r] * S2zz_sum) + delta[r] * np.sum(dGs[s] * S2zz_sum)
                t += delta[r] * delta[s] * trV2
                tr2[r, s] = tr2[s, r] = t

        XVX = S1[:, xi][:, :, xi].sum(axis=0)
        self.Phi = _sym_inv(XVX)
        self.K = T[:, :p, :p]
        self.tres = T[:, :p, p]
        self.eres = T[:, p, p]
        self.Q = U[:, :, :p, :p]
        self.ures = U[:, :, p, p]
        self.tr2 = tr2
        self.trA = trA
        self.R = R

    # derivatives of Phi: dPhi/dgamma_r = Phi K_r Phi
    def jacobian(self):
        return np.einsum("ij,rjk,kl->ril", self.Phi, self.K, self.Phi)

    def _trPhiK(self):
        return np.einsum("ij,rji->r", self.Phi, self.K)

    def _trPAPA(self):
        """tr(P A_r P A_s) with P the REML projection V^-1 - V^-1 X Phi X'V^-1."""
        PK = np.einsum("ij,rjk->rik", self.Phi, self.K)
        return (self.tr2 - 2 * np.einsum("ij,rsji->rs", self.Phi, self.Q)
                + np.einsum("rij,sji->rs", PK, PK))

    def expected_information(self):
        """IE_rs = tr(P A_r P A_s) (pbkrtest's IE2; Fisher information of REML is IE / 2)."""
        return self._trPAPA()

    def deviance_gradient(self, reml):
        """d(-2 l)/d gamma_r = tr(V^-1 A_r) [- tr(Phi K_r) for REML] - r'V^-1 A_r V^-1 r."""
        g = self.trA - self.eres
        return g - self._trPhiK() if reml else g

    def deviance_hessian(self, reml):
        """Observed Hessian of -2 l (beta profiled out), with respect to gamma.

        H_rs = -tr(P A_r P A_s) + 2 y'P A_r P A_s P y  (REML; V^-1 instead of P in the trace for
        ML)
        """
        quad = self.ures - np.einsum("ri,ij,sj->rs", self.tres, self.Phi, self.tres)
        trace = self._trPAPA() if reml else self.tr2
        return -trace + 2 * quad


def _sym_inv(a):
    out = np.linalg.inv(a)
    return 0.5 * (out + out.T)


def _theta_sigma_derivatives(arr):
    """Jacobian and Hessian of gamma = (vech G, sigma2) w.r.t. lme4's (theta, sigma).

    ``G = sigma^2 Lambda Lambda'`` with ``Lambda`` lower triangular (``theta`` its lower triangle,
    column by column, as in lme4) and ``sigma2 = sigma^2``. gamma is quadratic in (theta, sigma).

    Returns D (R, n_phi) and D2 (R, n_phi, n_phi).
    """
    k = arr.G.shape[0]
    sigma = np.sqrt(arr.sigma2)
    lam = _chol_psd(arr.G / arr.sigma2)
    mask = np.tril(np.ones((k, k), dtype=bool)) if arr.mask is None else arr.mask
    # lme4 orders theta column-wise: (0,0), (1,0), ..., (k-1,0), (1,1), ...; elements of Lambda
    # fixed at 0 (uncorrelated random effects) are not parameters, nor are the covariances
    # they fix at 0 in G
    th = [(i, j) for j in range(k) for i in range(j, k) if mask[i, j]]
    rows, cols = np.tril_indices(k)
    keep = mask[rows, cols]
    rows, cols = rows[keep], cols[keep]
    nth = len(th)
    R = len(rows) + 1
    D = np.zeros((R, nth + 1))
    D2 = np.zeros((R, nth + 1, nth + 1))

    def E(i, j):
        e = np.zeros((k, k))
        e[i, j] = 1.0
        return e

    def vech(mat):
        return mat[rows, cols]

    dL = [E(i, j) @ lam.T + lam @ E(j, i) for i, j in th]  # d(Lambda Lambda')/d theta
    for a, (i, j) in enumerate(th):
        D[:-1, a] = sigma**2 * vech(dL[a])
        D2[:-1, a, nth] = D2[:-1, nth, a] = 2 * sigma * vech(dL[a])
        for b, (c, d) in enumerate(th):
            if j == d:
                D2[:-1, a, b] = sigma**2 * vech(E(i, c) + E(c, i))
    LL = lam @ lam.T
    D[:-1, nth] = 2 * sigma * vech(LL)
    D2[:-1, nth, nth] = 2 * vech(LL)
    D[-1, nth] = 2 * sigma
    D2[-1, nth, nth] = 2.0
    return D, D2


class _Satterthwaite:
    """lmerTest's ingredients: vcov of (theta, sigma) = 2 H^+ and the Jacobian of Phi."""

    def __init__(self, arr):
        self.arr = arr
        eng = _Engine(arr)
        self.eng = eng
        reml = self.arr.reml
        D, D2 = _theta_sigma_derivatives(self.arr)
        H = D.T @ eng.deviance_hessian(reml) @ D + np.einsum(
            "r,rab->ab", eng.deviance_gradient(reml), D2
        )
        H = 0.5 * (H + H.T)
        # Judge near-zero eigenvalues on a scale-free Hessian: sigma is in the units of y, so
        # differentiate with respect to sigma / sigma_hat instead (S H S, S = diag(1, .., sigma)).
        # At unit scale this is lmerTest's rule; a response in other units (y x 1e3) gives the
        # same eigenvalues instead of spurious "near singular" warnings.
        svec = np.ones(H.shape[0])
        svec[-1] = np.sqrt(arr.sigma2)
        H = H * np.outer(svec, svec)
        evals, evecs = np.linalg.eigh(H)
        neg = evals < -_HESS_TOL
        zero = np.abs(evals) <= _HESS_TOL
        if neg.any():
            warnings.warn(
                f"the Hessian of the {'REML ' if reml else ''}deviance has {int(neg.sum())} "
                f"negative eigenvalue(s) ({', '.join(f'{v:.1e}' for v in evals[neg])}): the fit "
                "may not be at a minimum; refit (another method=, tighter tolerance) before "
                "trusting these degrees of freedom.",
                RuntimeWarning,
                stacklevel=3,
            )
        if zero.any():
            warnings.warn(
                f"the Hessian of the deviance has {int(zero.sum())} eigenvalue(s) close to zero "
                f"({', '.join(f'{v:.1e}' for v in evals[zero])}); a pseudo-inverse is used, as "
                "lmerTest does, and the degrees of freedom are approximate.",
                RuntimeWarning,
                stacklevel=3,
            )
        pos = evals > _HESS_TOL
        V = evecs[:, pos]
        # vcov of (theta, sigma): back from the scaled parametrisation
        self.A = 2 * ((V / evals[pos]) @ V.T) * np.outer(svec, svec)
        # Jacobian of Phi with respect to (theta, sigma)
        self.jac = np.einsum("rij,ra->aij", eng.jacobian(), D)
        self.Phi = eng.Phi
        self.beta = self.arr.beta

    def df(self, lvec):
        f = lvec @ self.Phi @ lvec
        grad = np.einsum("i,aij,j->a", lvec, self.jac, lvec)
        return 2 * f**2 / (grad @ self.A @ grad), f


# --------------------------------------------------------------------------------------------
# public functions
# --------------------------------------------------------------------------------------------


def _prepare(result):
    """Validate the fit (TypeError / RuntimeError), then warn if it is singular."""
    arr = model_arrays(result)
    check_singular(result, stacklevel=4)
    return arr


def _contrast_matrix(L, fe_names):
    """Turn ``L`` (1-D, 2-D, a name or a list of names) into a float (q, p) array."""
    p = len(fe_names)
    if isinstance(L, str):
        L = [L]
    if isinstance(L, pd.DataFrame):
        L = L.reindex(columns=fe_names, fill_value=0.0).to_numpy(dtype=float)
    elif isinstance(L, pd.Series):
        L = L.reindex(fe_names, fill_value=0.0).to_numpy(dtype=float)
    elif isinstance(L, (list, tuple)) and len(L) > 0 and all(isinstance(v, str) for v in L):
        unknown = [v for v in L if v not in fe_names]
        if unknown:
            raise ValueError(
                f"unknown fixed-effect name(s) {unknown}; the model's fixed effects are {fe_names}"
            )
        out = np.zeros((len(L), p))
        for row, name in enumerate(L):
            out[row, fe_names.index(name)] = 1.0
        return out
    L = np.atleast_2d(np.asarray(L, dtype=float))
    if L.ndim != 2 or L.shape[1] != p:
        raise ValueError(
            f"contrast matrix L must have {p} columns (one per fixed effect: {fe_names}), got "
            f"shape {np.shape(L)}"
        )
    if not np.all(np.isfinite(L)) or L.shape[0] == 0:
        raise ValueError("contrast matrix L must be finite with at least one row")
    return L


def _table(names, est, se, df):
    t = est / se
    p = 2 * stats.t.sf(np.abs(t), df)
    return pd.DataFrame(
        {"estimate": est, "std_error": se, "df": df, "t": t, "p_value": p},
        index=pd.Index(names),
        columns=_TABLE_COLUMNS,
    )


def satterthwaite(result):
    r"""Fixed-effects t tests with Satterthwaite degrees of freedom (lmerTest's summary table).

    For coefficient :math:`j` (contrast :math:`l = e_j`) with
    :math:`f = l'\Phi l`, :math:`\Phi = (X'V^{-1}X)^{-1}`,

    .. math::

        \nu = \frac{2 f^2}{g' A g}, \qquad g_a = l' \frac{\partial \Phi}{\partial \tau_a} l,
        \qquad A = 2 H^{-1},

    where :math:`H` is the Hessian of the deviance (:math:`-2` times the REML log-likelihood for
    a REML fit, the ML one otherwise, fixed effects profiled out) with respect to the variance
    parameters :math:`\tau = (\theta, \sigma)` of lme4. :math:`H` and :math:`\partial\Phi/\partial
    \tau` are computed analytically (lmerTest uses numerical derivatives); at the optimum the
    result does not depend on the parametrisation. Near-zero eigenvalues of :math:`H` (below
    1e-8, lmerTest's rule, judged with :math:`\sigma` measured relative to :math:`\hat\sigma` so
    that the units of the response do not matter) are dropped (pseudo-inverse) with a warning,
    as in lmerTest. Uncorrelated random effects (``fit_tight(..., correlated=False)``) have no
    covariance parameters: :math:`\tau` holds only the free elements of lme4's :math:`\theta`.
    Then :math:`t = \hat\beta_j / \sqrt f` and
    :math:`p = 2 P(T_\nu > |t|)`.

    Parameters
    ----------
    result : MixedLMResults
        A converged fit from ``smf.mixedlm(...).fit()`` (REML or ML), one grouping factor.

    Returns
    -------
    pandas.DataFrame
        Indexed like ``result.fe_params``, columns ``estimate, std_error, df, t, p_value``.

    Warns
    -----
    BoundaryFitWarning
        If a random-effect component is singular (see :func:`singular_components`); the table is
        still returned.

    Notes
    -----
    The df are only as good as the optimum they are computed at. Near a boundary (a random
    slope with variance close to 0) the REML surface is flat: two fits whose log-likelihoods
    agree to 1e-7 can give df differing by 1e-3 for the coefficient of the slope variable.
    statsmodels' default optimisers also sometimes stop at a lower log-likelihood there; fit
    such models with :func:`lmmcourse.stats.fit_tight` to reproduce lmerTest. At lme4's exact
    estimates this function reproduces lmerTest to about 1e-7.

    References
    ----------
    Satterthwaite (1946), *Biometrics Bulletin* 2:110-114. Kuznetsova, Brockhoff & Christensen
    (2017), lmerTest, *Journal of Statistical Software* 82(13), section 3.
    """
    sat = _Satterthwaite(_prepare(result))
    p = len(sat.beta)
    df, var = np.empty(p), np.empty(p)
    for j in range(p):
        df[j], var[j] = sat.df(np.eye(p)[j])
    return _table(sat.arr.fe_names, sat.beta, np.sqrt(var), df)


def _satterthwaite_f(sat, L):
    beta, Phi = sat.beta, sat.Phi
    VL = L @ Phi @ L.T
    d, P = np.linalg.eigh(0.5 * (VL + VL.T))
    order = np.argsort(d)[::-1]
    d, P = d[order], P[:, order]
    pos = d > max(np.sqrt(np.finfo(float).eps) * d[0], 0.0)
    q = int(pos.sum())
    if q == 0:
        raise ValueError("the contrast matrix L has rank 0 (L Phi L' is zero): nothing to test")
    PtL = P[:, pos].T @ L
    t2 = (PtL @ beta) ** 2 / d[pos]
    F = float(t2.sum() / q)
    nu = np.array([sat.df(row)[0] for row in PtL])
    if q == 1:
        ddf = float(nu[0])
    elif np.all(np.abs(np.diff(nu)) < 1e-8):
        ddf = float(nu.mean())
    elif np.any(nu <= 2):
        ddf = 2.0
    else:
        E = np.sum(nu / (nu - 2))
        ddf = float(2 * E / (E - q))
    return {"F": F, "num_df": q, "den_df": ddf, "p_value": float(stats.f.sf(F, q, ddf))}


def satterthwaite_f(result, L):
    r"""Joint F test of :math:`H_0: L\beta = 0` with Satterthwaite denominator df (lmerTest).

    With the eigen-decomposition :math:`L\Phi L' = P \operatorname{diag}(d) P'` (eigenvalues
    :math:`d_m > \sqrt{\epsilon}\, d_1` kept, their number :math:`q` is the numerator df), each
    rotated contrast :math:`\tilde l_m = (P'L)_m` is independent with

    .. math:: t_m^2 = \frac{(\tilde l_m'\hat\beta)^2}{d_m}, \qquad
              \nu_m = \frac{2 d_m^2}{g_m' A g_m}, \qquad F = \frac{1}{q}\sum_m t_m^2 .

    The denominator df matches the mean of :math:`F`: with :math:`E = \sum_m \nu_m/(\nu_m - 2)`,
    :math:`\nu = 2E/(E - q)`; it is 2 if any :math:`\nu_m \le 2`, and the common value if all
    :math:`\nu_m` are equal. For :math:`q = 1`, :math:`F = t^2` and :math:`\nu` is the t test's df.

    Parameters
    ----------
    result : MixedLMResults
        A converged fit (REML or ML).
    L : array_like or str or list of str
        Contrast matrix, shape ``(q, p)`` in the column order of ``result.fe_params``; a 1-D array
        for one contrast; a pandas Series/DataFrame labelled by fixed-effect names; or fixed-effect
        name(s), meaning "these coefficients are all zero".

    Returns
    -------
    dict
        ``{"F", "num_df", "den_df", "p_value"}``.

    References
    ----------
    Kuznetsova, Brockhoff & Christensen (2017), *Journal of Statistical Software* 82(13),
    section 3.3; Satterthwaite (1946); Fai & Cornelius (1996), *Journal of Statistical
    Computation and Simulation* 54:363-378.
    """
    sat = _Satterthwaite(_prepare(result))
    return _satterthwaite_f(sat, _contrast_matrix(L, sat.arr.fe_names))


class _KenwardRoger:
    """pbkrtest's vcovAdj: Phi_A = Phi + 2 Phi U Phi with W = 2 IE^-1."""

    def __init__(self, arr):
        self.arr = arr
        if not arr.reml:
            raise ValueError(
                "the Kenward-Roger method is defined for REML fits only; refit the model with "
                "fit(reml=True) (use satterthwaite() for an ML fit)."
            )
        eng = _Engine(self.arr)
        Phi = eng.Phi
        IE = eng.expected_information()
        # every variance parameter is in the units of y^2: judge singularity on sigma^4 IE, which
        # does not depend on the units of the response
        s4 = arr.sigma2**2
        if np.min(np.abs(np.linalg.eigvalsh(IE * s4))) > 1e-10:
            W = 2 * np.linalg.inv(IE)
        else:
            warnings.warn(
                "the expected information of the variance parameters is (near) singular; using a "
                "generalised inverse, as pbkrtest does.",
                RuntimeWarning,
                stacklevel=3,
            )
            W = 2 * np.linalg.pinv(IE)
        W = 0.5 * (W + W.T)
        P = -eng.K  # pbkrtest's P_i
        PPhiP = np.einsum("rij,jk,skl->rsil", P, Phi, P)
        Umat = np.einsum("rs,rsij->ij", W, eng.Q - PPhiP)
        Umat = 0.5 * (Umat + Umat.T)
        self.Phi, self.W, self.P = Phi, W, P
        self.PhiA = Phi + 2 * Phi @ Umat @ Phi
        self.beta = self.arr.beta

    def adjust(self, L):
        """pbkrtest's .KR_adjust for a full-row-rank L: (F, q, m, lambda)."""
        q = L.shape[0]
        if np.linalg.matrix_rank(L) < q:
            raise ValueError(
                f"the contrast matrix L (shape {L.shape}) is rank deficient; drop redundant rows "
                "(the Kenward-Roger F test needs L of full row rank)."
            )
        Phi, W = self.Phi, self.W
        Theta = L.T @ np.linalg.solve(L @ Phi @ L.T, L)
        u = np.einsum("ij,jk,rkl,lm->rim", Theta, Phi, self.P, Phi)  # Theta Phi P_r Phi
        tr_u = np.einsum("rii->r", u)
        A1 = float(tr_u @ W @ tr_u)
        A2 = float(np.einsum("rs,rij,sji->", W, u, u))
        B = (A1 + 6 * A2) / (2 * q)
        g = ((q + 1) * A1 - (q + 4) * A2) / ((q + 2) * A2)
        den = 3 * q + 2 * (1 - g)
        c1, c2, c3 = g / den, (q - g) / den, (q + 2 - g) / den
        V0, V1, V2 = 1 + c1 * B, 1 - c2 * B, 1 - c3 * B
        if abs(V0) < 1e-10:
            V0 = 0.0
        x, y = 1 - A2 / q, V1
        ratio = 1.0 if (abs(x) < 1e-14 and abs(y) < 1e-14) else x / y
        rho = ratio**2 * V0 / V2 / q
        m = 4 + (q + 2) / (q * rho - 1)
        lam = 1.0 if abs(m - 2) < 0.01 else m * (1 - A2 / q) / (m - 2)
        Lb = L @ self.beta
        wald = float(Lb @ np.linalg.solve(L @ self.PhiA @ L.T, Lb))
        return wald / q, q, float(m), float(lam)


def kenward_roger(result):
    r"""Fixed-effects t tests with Kenward-Roger standard errors and df (pbkrtest / lmerTest).

    The covariance of :math:`\hat\beta` is inflated for the uncertainty in the REML variance
    parameters :math:`\gamma` of the linear structure :math:`\Sigma = \sum_r \gamma_r G_r`:

    .. math::

        \Phi_A = \Phi + 2\Phi U \Phi, \qquad
        U = \sum_{r,s} W_{rs} (Q_{rs} - P_r \Phi P_s), \qquad W = 2\,\mathcal{I}_E^{-1},

    with :math:`P_r = -X'\Sigma^{-1}G_r\Sigma^{-1}X`,
    :math:`Q_{rs} = X'\Sigma^{-1}G_r\Sigma^{-1}G_s\Sigma^{-1}X` and the expected REML information
    :math:`(\mathcal I_E)_{rs} = \operatorname{tr}(\Sigma^{-1}G_r\Sigma^{-1}G_s)
    - 2\operatorname{tr}(\Phi Q_{rs}) + \operatorname{tr}(\Phi P_r \Phi P_s)`. For one
    coefficient the standard error is :math:`\sqrt{(\Phi_A)_{jj}}` and the df is
    :math:`m = 2 / A_2`, :math:`A_2 = \sum_{rs} W_{rs}\operatorname{tr}(\Theta\Phi P_r\Phi\,
    \Theta\Phi P_s\Phi)`, :math:`\Theta = l(l'\Phi l)^{-1}l'` (the general formula of
    :func:`kenward_roger_f` with :math:`q = 1`, where the scale factor is exactly 1).

    Parameters
    ----------
    result : MixedLMResults
        A converged REML fit (``fit(reml=True)``, statsmodels' default).

    Returns
    -------
    pandas.DataFrame
        Indexed like ``result.fe_params``, columns ``estimate, std_error, df, t, p_value``;
        ``std_error`` is the adjusted one.

    Raises
    ------
    ValueError
        For an ML fit.

    References
    ----------
    Kenward & Roger (1997), *Biometrics* 53:983-997; Halekoh & Højsgaard (2014), pbkrtest,
    *Journal of Statistical Software* 59(9), section 4.
    """
    kr = _KenwardRoger(_prepare(result))
    p = len(kr.beta)
    df = np.array([kr.adjust(np.eye(p)[[j]])[2] for j in range(p)])
    se = np.sqrt(np.diag(kr.PhiA))
    return _table(kr.arr.fe_names, kr.beta, se, df)


def kenward_roger_f(result, L):
    r"""Kenward-Roger F test of :math:`H_0: L\beta = 0` (pbkrtest's ``KRmodcomp``).

    With :math:`\Theta = L'(L\Phi L')^{-1}L`, :math:`A_1 = \sum_{rs} W_{rs}
    \operatorname{tr}(\Theta\Phi P_r\Phi)\operatorname{tr}(\Theta\Phi P_s\Phi)`,
    :math:`A_2 = \sum_{rs} W_{rs}\operatorname{tr}(\Theta\Phi P_r\Phi\Theta\Phi P_s\Phi)`
    (see :func:`kenward_roger` for :math:`\Phi, P_r, W`):

    .. math::

        B = \frac{A_1 + 6A_2}{2q},\quad g = \frac{(q+1)A_1 - (q+4)A_2}{(q+2)A_2},\quad
        c_1 = \frac{g}{D},\ c_2 = \frac{q-g}{D},\ c_3 = \frac{q+2-g}{D},\ D = 3q + 2(1-g),

        E^* = \Bigl(1 - \frac{A_2}{q}\Bigr)^{-1},\quad
        V^* = \frac{2}{q}\,\frac{1 + c_1B}{(1 - c_2B)^2(1 - c_3B)},\quad
        \rho = \frac{V^*}{2E^{*2}},\quad m = 4 + \frac{q+2}{q\rho - 1},\quad
        \lambda = \frac{m}{E^*(m-2)},

    and :math:`\lambda F \sim F(q, m)` with the Wald statistic
    :math:`F = \hat\beta'L'(L\Phi_AL')^{-1}L\hat\beta / q` (:math:`\lambda = 1` when
    :math:`|m - 2| < 0.01`, as in pbkrtest).

    Parameters
    ----------
    result : MixedLMResults
        A converged REML fit.
    L : array_like or str or list of str
        Contrast matrix of full row rank ``q`` (see :func:`satterthwaite_f` for accepted forms).

    Returns
    -------
    dict
        ``{"F", "num_df", "den_df", "p_value", "scale"}``: ``F`` is the scaled statistic
        :math:`\lambda F` that is referred to :math:`F(q, m)`, ``scale`` is :math:`\lambda`.

    References
    ----------
    Kenward & Roger (1997), *Biometrics* 53:983-997; Halekoh & Højsgaard (2014), *Journal of
    Statistical Software* 59(9).
    """
    kr = _KenwardRoger(_prepare(result))
    L = _contrast_matrix(L, kr.arr.fe_names)
    F_u, q, m, lam = kr.adjust(L)
    F = lam * F_u
    return {"F": F, "num_df": q, "den_df": m, "p_value": float(stats.f.sf(F, q, m)),
            "scale": lam}
