r"""Likelihood-ratio comparisons of mixed models: ``ranova`` and ``compare``.

These follow R: :func:`ranova` is ``lmerTest::ranova``, :func:`compare` is lme4's
``anova(reduced, full)`` (``pbkrtest::PBmodcomp`` is in ``_bootstrap``). Each also reports
the boundary-corrected p-value: a variance tested at zero lies on the edge of its parameter space,
so the likelihood-ratio statistic is not :math:`\chi^2` distributed but a 50:50 mixture
(Self & Liang 1987; Stram & Lee 1994).

Refits use :func:`fit_tight`, which maximises lme4's profiled criterion directly, so that
log-likelihoods agree with lme4 to about 1e-9.
"""

from __future__ import annotations

import copy
import re

import numpy as np
import pandas as pd
from scipy import stats

from ._core import _cov_mask, _free_pattern, validate_result
from ._fit import fit_tight

__all__ = ["compare", "ranova"]

# relative tolerance of the column-space (nesting) checks
_SPAN_TOL = 1e-6


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------
def _rebuild(model, endog=None, exog_re=None, re_names=None):
    """A new ``MixedLM`` with the same fixed effects and groups, optionally new y or Z."""
    from statsmodels.regression.mixed_linear_model import MixedLM

    y = np.asarray(model.endog if endog is None else endog, dtype=float)
    exog = pd.DataFrame(np.asarray(model.exog), columns=list(model.exog_names))
    if exog_re is None:
        exog_re = np.asarray(model.exog_re)
        re_names = list(model.data.exog_re_names)
    exog_re = pd.DataFrame(np.asarray(exog_re, dtype=float), columns=list(re_names))
    new = MixedLM(pd.Series(y, name=model.endog_names), exog, groups=np.asarray(model.groups),
                  exog_re=exog_re)
    new.data.exog_re_names = list(re_names)
    return new


def _n_params(inner):
    """lme4's npar: fixed effects + free covariance parameters + residual variance.

    For uncorrelated random effects (R's ``(x || g)``) the covariances fixed at 0 do not count.
    """
    m = inner.model
    if getattr(m, "k_vc", 0):
        return int(m.k_fe + m.k_re2 + m.k_vc + 1)
    mask = _cov_mask(inner)
    return int(m.k_fe + int(mask.sum()) + 1)


def _ml_fit(inner):
    """``(ML result, refitted?)``: the fit itself if it is ML, else a tight ML refit."""
    if not inner.reml:
        return inner, False
    mask = _cov_mask(inner)
    free = _free_pattern(mask, int(inner.model.k_fe))
    refit = fit_tight(copy.copy(inner.model), reml=False, start_params=inner.params_object,
                      free=free)
    return refit, True


def _lm_loglik(model, reml):
    r"""Log-likelihood of the fixed-effects-only linear model (REML as lmerTest computes it)."""
    X = np.asarray(model.exog, dtype=float)
    y = np.asarray(model.endog, dtype=float)
    n, p = X.shape
    beta, *_ = np.linalg.lstsq(X, y, rcond=None)
    rss = float(np.sum((y - X @ beta) ** 2))
    if reml:
        _, logdet = np.linalg.slogdet(X.T @ X)
        return -(n - p) / 2 * (np.log(2 * np.pi * rss / (n - p)) + 1) - 0.5 * logdet
    return -n / 2 * (np.log(2 * np.pi * rss / n) + 1)


def _chi2_mixture_sf(lrt, q):
    r"""Upper tail of :math:`\tfrac12\chi^2_q + \tfrac12\chi^2_{q+1}` (:math:`\chi^2_0` = point 0)."""
    lrt = max(float(lrt), 0.0)
    low = (1.0 if lrt <= 0 else 0.0) if q == 0 else stats.chi2.sf(lrt, q)
    return 0.5 * low + 0.5 * stats.chi2.sf(lrt, q + 1)


def _has_intercept(Z):
    return Z.shape[1] > 0 and bool(np.all(Z[:, 0] == 1.0))


def _group_label(model):
    """Name of the grouping variable.

    statsmodels stores it as the name of the random intercept; without a random intercept it is
    looked up as the column of the model's data frame that holds the groups.
    """
    names = list(model.data.exog_re_names)
    if _has_intercept(np.asarray(model.exog_re)):
        return names[0]
    frame = getattr(model.data, "frame", None)
    groups = np.asarray(model.groups)
    if isinstance(frame, pd.DataFrame) and len(frame) == len(groups):
        for col in frame.columns:
            try:
                if np.array_equal(np.asarray(frame[col]), groups):
                    return str(col)
            except (TypeError, ValueError):  # pragma: no cover - exotic column types
                continue
    return "group"


def _blocks(mask):
    """Columns of the random effects grouped into R terms: connected blocks of the G pattern."""
    k = mask.shape[0]
    parent = list(range(k))

    def find(a):
        while parent[a] != a:
            a = parent[a]
        return a

    for i in range(k):
        for j in range(i):
            if mask[i, j]:
                parent[find(i)] = find(j)
    out = {}
    for j in range(k):
        out.setdefault(find(j), []).append(j)
    return list(out.values())


def _re_terms(names):
    """Group random-effect columns into terms: ``smoker[T.Yes]`` belongs to term ``smoker``."""
    terms = {}
    for j, name in enumerate(names):
        key = re.split(r"\[", name, maxsplit=1)[0]
        terms.setdefault(key, []).append(j)
    return terms


# --------------------------------------------------------------------------------------------
# ranova
# --------------------------------------------------------------------------------------------
def ranova(result):
    r"""Likelihood-ratio tests of the random-effect terms (``lmerTest::ranova``).

    Each random term is removed (a lone random intercept ``(1 | g)``) or reduced (a slope in
    ``(1 + x | g)`` is dropped, leaving ``(1 | g)``), the reduced model is refitted by the same
    criterion (REML or ML) and compared with the full one:

    .. math:: \text{LRT} = 2(\ell_\text{full} - \ell_\text{reduced}),
              \qquad \text{df} = \text{npar}_\text{full} - \text{npar}_\text{reduced}.

    With no random effect left the reduced model is the linear model, whose REML log-likelihood
    is (lmerTest)

    .. math:: \ell_R = -\frac{n-p}{2}\left[\log\frac{2\pi\,\text{RSS}}{n-p} + 1\right]
                       - \frac12 \log|X'X| .

    ``p_value`` is the plain :math:`\chi^2_\text{df}` tail, as lmerTest reports it. Because the
    removed variance is tested at the edge of its parameter space, the null distribution is
    really the mixture :math:`\tfrac12\chi^2_q + \tfrac12\chi^2_{q+1}` with
    :math:`q = \text{df} - 1`, the number of covariances removed with the variance (:math:`q=0`:
    a point mass at 0 and :math:`\chi^2_1`, so the p-value is halved); ``p_value_boundary`` uses
    that mixture. The plain p-value is conservative (too large).

    Uncorrelated random effects (``fit_tight(..., correlated=False)``, R's ``(x || g)``, which
    lme4 stores as ``(1 | g) + (0 + x | g)``) give one 1-df row per term, as in lmerTest. A term
    without a random intercept, ``(0 + x | g)``, is reduced to ``(1 | g)`` as lmerTest does
    (unless the model already has a random intercept): for a lone ``(0 + x | g)`` the two models
    have the same number of parameters, so df is 0 and the p-values are NaN. The reduced random
    part of each row is in ``frame.attrs["reduced_to"]`` (``{term: "(1 | g)"}``) and spelled out
    in ``frame.attrs["note"]``.

    Parameters
    ----------
    result : MixedLMResults
        A converged fit with one grouping factor. For agreement with lmerTest fit it with
        :func:`fit_tight`.

    Returns
    -------
    pandas.DataFrame
        Columns ``term, loglik, n_params, lrt, df, p_value, p_value_boundary``. As in lmerTest
        the first row, ``term = "<none>"``, is the full model itself (its ``lrt``, ``df`` and
        p-values are NaN: nothing is removed); then one row per removable term, labelled like
        lmerTest, e.g. ``"(1 | clinic_id)"`` or ``"Days in (1 + Days | Subject)"``.

    Notes
    -----
    Random-effect columns of one factor (``smoker[T.Yes]``, ...) are removed together, as
    lmerTest removes a whole term. The mixture assumes many clusters.

    References
    ----------
    Kuznetsova, A., Brockhoff, P. B. & Christensen, R. H. B. (2017). lmerTest package: tests in
    linear mixed effects models. *Journal of Statistical Software* 82(13).
    Self, S. G. & Liang, K.-Y. (1987). *JASA* 82, 605-610.
    Stram, D. O. & Lee, J. W. (1994). Variance components testing in the longitudinal mixed
    effects model. *Biometrics* 50, 1171-1177.
    """
    inner = validate_result(result)
    model = inner.model
    reml = bool(inner.reml)
    Z = np.asarray(model.exog_re, dtype=float)
    names = list(model.data.exog_re_names)
    group = _group_label(model)
    has_int = _has_intercept(Z)
    mask = _cov_mask(inner)
    full_ll = float(inner.llf)
    full_np = _n_params(inner)
    p = model.k_fe

    def reduced_fit(keep, add_intercept=False):
        """loglik and npar of the model with random-effect columns ``keep`` only."""
        if not keep and not add_intercept:
            return _lm_loglik(model, reml), p + 1
        cols = [Z[:, j] for j in keep]
        cnames = [names[j] for j in keep]
        sub = mask[np.ix_(keep, keep)]
        if add_intercept:
            cols = [np.ones(len(Z))] + cols
            cnames = [group] + cnames
            new = np.zeros((len(cols), len(cols)), dtype=bool)
            new[0, 0] = True
            new[1:, 1:] = sub
            sub = new
        reduced = _rebuild(model, exog_re=np.column_stack(cols), re_names=cnames)
        fit = fit_tight(reduced, reml=reml, free=_free_pattern(sub, p))
        return float(fit.llf), _n_params(fit)

    rows = [dict(term="<none>", loglik=full_ll, n_params=full_np, reduced_to="")]
    for block in _blocks(mask):
        block_int = has_int and 0 in block
        slopes = [j for j in block if not (block_int and j == 0)]
        terms = _re_terms([names[j] for j in slopes])
        term_cols = {t: [slopes[c] for c in cs] for t, cs in terms.items()}
        lhs = " + ".join((["1"] if block_int else ["0"]) + list(terms))
        others = [j for j in range(Z.shape[1]) if j not in block]
        if block_int and not terms:
            label = f"(1 | {group})"
            keep = sorted(others)
            ll, npar = reduced_fit(keep)
            rows.append(dict(term=label, loglik=ll, n_params=npar,
                             reduced_to=_re_text(keep, names, mask, group, has_int)))
            continue
        for term, cols in term_cols.items():
            label = f"{term} in ({lhs} | {group})"
            keep = sorted(j for j in range(Z.shape[1]) if j not in cols)
            # lmerTest reduces a term without intercept to a random intercept, (0 + x | g) ->
            # (1 | g), unless the model already has one
            add_int = (not block_int and not any(j in block for j in keep) and not has_int)
            ll, npar = reduced_fit(keep, add_intercept=add_int)
            text = _re_text(keep, names, mask, group, has_int, add_int)
            rows.append(dict(term=label, loglik=ll, n_params=npar, reduced_to=text))
    out = []
    for r in rows:
        if r["term"] == "<none>":
            out.append({**r, "lrt": np.nan, "df": np.nan, "p_value": np.nan,
                        "p_value_boundary": np.nan})
            continue
        lrt = 2 * (full_ll - r["loglik"])
        df = full_np - r["n_params"]
        out.append(dict(
            term=r["term"], loglik=r["loglik"], n_params=r["n_params"], lrt=lrt, df=df,
            p_value=float(stats.chi2.sf(lrt, df)) if df > 0 else np.nan,
            p_value_boundary=_chi2_mixture_sf(lrt, df - 1) if df > 0 else np.nan,
            reduced_to=r["reduced_to"],
        ))
    frame = pd.DataFrame(out, columns=["term", "loglik", "n_params", "lrt", "df", "p_value",
                                       "p_value_boundary"])
    frame["n_params"] = frame["n_params"].astype(int)
    frame.attrs["criterion"] = "REML" if reml else "ML"
    frame.attrs["reduced_to"] = {r["term"]: r["reduced_to"] for r in out[1:]}
    frame.attrs["note"] = "; ".join(
        f"{r['term']}: reduced model has {r['reduced_to']}" for r in out[1:]
    )
    return frame


def _re_text(keep, names, mask, group, has_int, add_intercept=False):
    """The random part left after a ranova reduction, in R's notation (e.g. ``(1 | Chick)``)."""
    if not keep and not add_intercept:
        return "no random effects (the linear model)"
    parts = []
    if add_intercept:
        parts.append(f"(1 | {group})")
    for block in _blocks(mask):
        cols = [j for j in block if j in keep]
        if not cols:
            continue
        lhs = ["1" if (has_int and j == 0) else names[j] for j in cols]
        if lhs[0] != "1":
            lhs = ["0"] + lhs
        parts.append(f"({' + '.join(lhs)} | {group})")
    return " + ".join(parts)


# --------------------------------------------------------------------------------------------
# Nesting
# --------------------------------------------------------------------------------------------
def _outside_span(A, B):
    """Indices of the columns of ``A`` that are not in the column space of ``B``."""
    if B.shape[1] == 0:
        return [j for j in range(A.shape[1]) if np.linalg.norm(A[:, j]) > 0]
    # orthonormal basis of the column space of B (numerically null directions dropped)
    u, s, _ = np.linalg.svd(B, full_matrices=False)
    basis = u[:, s > s.max() * 1e-10]
    out = []
    for j in range(A.shape[1]):
        a = A[:, j]
        resid = a - basis @ (basis.T @ a)
        if np.linalg.norm(resid) > _SPAN_TOL * max(np.linalg.norm(a), 1.0):
            out.append(j)
    return out


def _fmt_names(names):
    return "{" + ", ".join(names) + "}"


def _match_columns(A, B):
    """For each column of ``A`` the index of an identical column of ``B`` (None if there is none)."""
    out = []
    for j in range(A.shape[1]):
        hit = [i for i in range(B.shape[1]) if np.allclose(A[:, j], B[:, i], rtol=1e-12, atol=0)]
        out.append(hit[0] if hit else None)
    return out


def _check_cov_nesting(r_in, f_in, Zr, Zf, re_out):
    """With uncorrelated random effects, check that the reduced covariances are free in full."""
    mr, mf = _cov_mask(r_in), _cov_mask(f_in)
    if bool(np.all(mf[np.tril_indices(len(mf))])) or re_out:
        return  # every covariance of the full model is free (or nesting fails anyway)
    match = _match_columns(Zr, Zf)
    if any(m is None for m in match):
        raise ValueError(
            "cannot tell whether the models are nested: the full model has uncorrelated random "
            "effects and the reduced model's random-effect columns are not columns of the full "
            "model. Use the same random-effect variables (re_formula) in both models."
        )
    for i in range(len(mr)):
        for j in range(i):
            a, b = sorted((match[i], match[j]), reverse=True)
            if mr[i, j] and not mf[a, b]:
                if Zr.shape == Zf.shape and _n_params(r_in) > _n_params(f_in):
                    raise ValueError(
                        "the models are in the wrong order: the first has correlated random "
                        "effects, the second uncorrelated ones (fewer parameters). Call "
                        "compare(reduced, full) with the smaller model first."
                    )
                raise ValueError(
                    "the models are not nested: the reduced model estimates a covariance "
                    "(correlation) between random effects that the full model "
                    "fixes at 0 (uncorrelated random effects). Fit the full model with correlated "
                    "random effects (fit_tight(..., correlated=True)), or compare AIC/BIC."
                )


def _nesting(r_in, f_in):
    """Check that ``r_in`` is nested in ``f_in``; return ``(fixed_same, random_same)``."""
    mr, mf = r_in.model, f_in.model
    if mr.nobs != mf.nobs:
        raise ValueError(
            f"the models were fitted to different data: {mr.nobs} vs {mf.nobs} observations. "
            "Likelihoods are only comparable on the same rows; drop missing values once, before "
            "fitting both models."
        )
    if not np.allclose(np.asarray(mr.endog), np.asarray(mf.endog), rtol=1e-12, atol=0):
        raise ValueError(
            "the models have different responses (or the rows are in a different order); fit "
            "both to the same data frame and the same response."
        )
    gr, gf = np.asarray(mr.groups), np.asarray(mf.groups)
    if gr.shape != gf.shape or not np.array_equal(gr, gf):
        raise ValueError(
            "the models use different grouping variables; a likelihood-ratio test needs the same "
            "clusters in both models."
        )
    Xr, Xf = np.asarray(mr.exog, float), np.asarray(mf.exog, float)
    Zr, Zf = np.asarray(mr.exog_re, float), np.asarray(mf.exog_re, float)
    fx_out = _outside_span(Xr, Xf)     # reduced fixed effects missing from full
    fx_back = _outside_span(Xf, Xr)
    re_out = _outside_span(Zr, Zf)
    re_back = _outside_span(Zf, Zr)
    npr, npf = _n_params(r_in), _n_params(f_in)
    _check_cov_nesting(r_in, f_in, Zr, Zf, re_out)
    if not fx_out and not re_out:
        if not fx_back and not re_back:
            if npr < npf and not fx_back:
                return True, False  # same columns, fewer covariances: (x || g) in (x | g)
            if npr > npf:
                raise ValueError(
                    "the models are in the wrong order: the first has more covariance "
                    "parameters (correlated random effects) than the second (uncorrelated). Call "
                    "compare(reduced, full) with the smaller model first."
                )
            raise ValueError(
                "the two models are the same (same fixed-effects and random-effects column "
                "spaces): there is nothing to test."
            )
        if npr >= npf:  # pragma: no cover - cannot happen for nested column spaces
            raise ValueError("the reduced model must have fewer parameters than the full one")
        return not fx_back, not re_back
    if not fx_back and not re_back:
        raise ValueError(
            "the models are in the wrong order: the first argument contains the second. Call "
            "compare(reduced, full) with the smaller model first."
        )
    fe_r, fe_f = list(mr.exog_names), list(mf.exog_names)
    re_r, re_f = list(mr.data.exog_re_names), list(mf.data.exog_re_names)
    reasons = []
    if fx_out:
        reasons.append(
            f"fixed effects of the reduced model {_fmt_names([fe_r[j] for j in fx_out])} are "
            "not in the full model"
        )
    if fx_back and (fx_out or re_out):
        reasons.append(
            f"fixed effects of the full model {_fmt_names([fe_f[j] for j in fx_back])} are not "
            "in the reduced model"
        )
    if re_out:
        reasons.append(
            f"random effects of the reduced model {_fmt_names([re_r[j] for j in re_out])} are "
            "not in the full model"
        )
    if re_back and (fx_out or re_out):
        reasons.append(
            f"the full model adds random effects {_fmt_names([re_f[j] for j in re_back])}"
        )
    advice = (
        "A likelihood-ratio test needs the reduced model to be a special case of the full one. "
        "To test the random effects, fit the full model with the same fixed effects as the "
        "reduced model (e.g. add the missing fixed effects to the random-slope model); to test "
        "fixed effects, keep the random effects the same in both models. For non-nested models "
        "compare AIC/BIC of ML fits instead."
    )
    raise ValueError("the models are not nested: " + "; ".join(reasons) + ". " + advice)


# --------------------------------------------------------------------------------------------
# compare
# --------------------------------------------------------------------------------------------
def compare(reduced, full, refit=True):
    r"""Likelihood-ratio test of two nested mixed models (lme4's ``anova(reduced, full)``).

    .. math:: \chi^2 = 2\max(0, \ell_\text{full} - \ell_\text{reduced}), \qquad
              \text{df} = \text{npar}_\text{full} - \text{npar}_\text{reduced},

    with ``npar`` = fixed effects + random-effect covariance parameters + 1 (lme4's count),
    :math:`\text{AIC} = -2\ell + 2\,\text{npar}` and :math:`\text{BIC} = -2\ell + \log(n)\,
    \text{npar}`. As lme4 does by default, REML fits are refitted by maximum likelihood first
    (REML log-likelihoods of models with different fixed effects are not comparable, and lme4
    refits even when only the random effects differ); ``note`` says what was done.

    When the models differ only in their random effects (the reduced random-effects columns span
    a subspace of the full ones), the plain :math:`\chi^2` p-value is conservative: a variance
    is tested on the boundary of its parameter space. If the full model adds exactly one random
    effect to the reduced model, with :math:`q = \text{df} - 1` covariances,
    ``p_value_boundary`` is the tail of :math:`\tfrac12\chi^2_q + \tfrac12\chi^2_{q+1}`
    (Self & Liang 1987; Stram & Lee 1994). Uncorrelated random effects (``(x || g)``) nested in
    correlated ones (``(x | g)``) differ by the covariances only, which are not on a boundary:
    df counts them and ``p_value_boundary`` equals ``p_value``.

    Parameters
    ----------
    reduced, full : MixedLMResults
        Converged fits to the same rows, same response and same groups; ``reduced`` must be a
        special case of ``full``.
    refit : bool, default True
        True: compare ML fits (REML fits are refitted, as lme4). False: compare the fits as
        they are, allowed only when the fixed effects are the same (REML likelihoods are then
        comparable, as with ``anova(..., refit = FALSE)``).

    Returns
    -------
    dict
        ``aic``, ``bic``, ``loglik``, ``n_params``: each a tuple ``(reduced, full)``;
        ``chisq``, ``df``, ``p_value``; ``p_value_boundary`` (float, or None when the fixed
        effects differ or the random structures differ by more than one random effect, the
        ``note`` says which); ``note`` (str).

    Raises
    ------
    TypeError
        If either argument is not a MixedLM fit.
    ValueError
        If the data differ, the models are not nested (the message names the offending
        terms and what to fit instead), the order is reversed, or ``refit=False`` is asked for
        models with different fixed effects or different criteria.

    References
    ----------
    Bates, D., Maechler, M., Bolker, B. & Walker, S. (2015). Fitting linear mixed-effects models
    using lme4. *Journal of Statistical Software* 67(1).
    Self, S. G. & Liang, K.-Y. (1987). Asymptotic properties of maximum likelihood estimators
    and likelihood ratio tests under nonstandard conditions. *JASA* 82, 605-610.
    Stram, D. O. & Lee, J. W. (1994). *Biometrics* 50, 1171-1177.
    """
    r_in = validate_result(reduced)
    f_in = validate_result(full)
    fixed_same, random_same = _nesting(r_in, f_in)
    notes = []
    if refit:
        r_fit, r_ref = _ml_fit(r_in)
        f_fit, f_ref = _ml_fit(f_in)
        if r_ref or f_ref:
            notes.append("refitted with ML (instead of REML), as lme4's anova does")
        else:
            notes.append("both models are ML fits")
    else:
        if not fixed_same:
            raise ValueError(
                "refit=False compares the fits as they are, which is valid only when the fixed "
                "effects are the same: REML log-likelihoods of models with different fixed "
                "effects are not comparable. Use refit=True (ML refits)."
            )
        if bool(r_in.reml) != bool(f_in.reml):
            raise ValueError(
                "refit=False needs both models fitted by the same criterion (one is REML, the "
                "other ML); refit them alike or use refit=True."
            )
        r_fit, f_fit = r_in, f_in
        crit = "REML" if r_in.reml else "ML"
        notes.append(f"compared as fitted ({crit}, no refit)")
    ll = (float(r_fit.llf), float(f_fit.llf))
    npar = (_n_params(r_fit), _n_params(f_fit))
    n = r_fit.model.nobs
    aic = tuple(-2 * a + 2 * k for a, k in zip(ll, npar, strict=True))
    bic = tuple(-2 * a + np.log(n) * k for a, k in zip(ll, npar, strict=True))
    chisq = max(0.0, 2 * (ll[1] - ll[0]))
    df = npar[1] - npar[0]
    p_value = float(stats.chi2.sf(chisq, df))
    p_boundary = None
    if fixed_same:
        q_r, q_f = r_in.model.k_re, f_in.model.k_re
        if q_f == q_r + 1 and df >= 1:
            # one random effect added, with df - 1 covariances with the others
            p_boundary = _chi2_mixture_sf(chisq, df - 1)
            notes.append(
                f"random effects differ only: p_value_boundary uses the mixture "
                f"1/2 chi2_{df - 1} + 1/2 chi2_{df}"
            )
        elif q_f == q_r and df >= 1 and not random_same:
            # same random effects, only covariances added: no variance is tested at 0
            p_boundary = p_value
            notes.append(
                "only covariances differ (uncorrelated vs correlated random effects): they are "
                "not on the boundary of the parameter space, so p_value_boundary equals p_value"
            )
        else:
            notes.append(
                "random effects differ by more than one random effect: the boundary mixture "
                "has no simple 50:50 form, so p_value_boundary is None; the plain p_value is "
                "conservative (use bootstrap_lrt for an exact-size test)"
            )
    else:
        notes.append("fixed effects differ: p_value_boundary does not apply (None)")
    return {
        "aic": aic,
        "bic": bic,
        "loglik": ll,
        "n_params": npar,
        "chisq": chisq,
        "df": int(df),
        "p_value": p_value,
        "p_value_boundary": p_boundary,
        "note": "; ".join(notes),
    }
