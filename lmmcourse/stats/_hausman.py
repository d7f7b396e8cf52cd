"""Fixed versus random effects: the Hausman test and its Mundlak (group-mean) form."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd
from scipy import stats

from ._core import model_arrays, validate_result

__all__ = ["hausman", "mundlak_test"]


def _gls_cov(arr):
    r"""Model-based covariance of the fixed effects, :math:`(\sum_g X_g' V_g^{-1} X_g)^{-1}`."""
    p = arr.n_fe
    info = np.zeros((p, p))
    for Xg, Zg in zip(arr.X, arr.Z, strict=True):
        Vg = Zg @ arr.G @ Zg.T + arr.sigma2 * np.eye(Xg.shape[0])
        info += Xg.T @ np.linalg.solve(Vg, Xg)
    return np.linalg.inv(info)


def _varies_within(x, codes, n_groups):
    """True if column ``x`` is not constant within every group."""
    sums = np.bincount(codes, weights=x, minlength=n_groups)
    counts = np.bincount(codes, minlength=n_groups)
    means = sums / np.maximum(counts, 1)
    dev = x - means[codes]
    return bool(np.sqrt(np.mean(dev**2)) > 1e-10 * max(1.0, float(np.sqrt(np.mean(x**2)))))


def hausman(fe_result, re_result):
    r"""Hausman test of random versus fixed (within-cluster) effects.

    .. math:: H = (b_\text{FE} - b_\text{RE})' \left[V_\text{FE} - V_\text{RE}\right]^{-1}
              (b_\text{FE} - b_\text{RE}) \;\sim\; \chi^2_k

    over the :math:`k` coefficients that both models estimate and that vary within clusters (the
    intercept and cluster-level covariates are excluded: the fixed-effects model cannot estimate
    them). Under the null hypothesis that the random effects are uncorrelated with the
    covariates, both estimators are consistent and the random-effects one is efficient; a large
    :math:`H` says the random-effects estimates are biased by cluster-level confounding. The
    random-effects covariance :math:`V_\text{RE} = (\sum_g X_g' V_g^{-1} X_g)^{-1}` is computed at
    the fitted variance components.

    Fit the fixed-effects model by OLS with one dummy per cluster, on the same rows::

        fe = smf.ols("sbp ~ age + bmi + C(clinic_id)", data=clinics).fit()
        re = smf.mixedlm("sbp ~ age + bmi", clinics, groups="clinic_id").fit()
        hausman(fe, re)

    Parameters
    ----------
    fe_result : statsmodels RegressionResults
        OLS fit with ``C(group)`` dummies (the within, or LSDV, estimator).
    re_result : MixedLMResults
        The random-intercept model with the same covariates.

    Returns
    -------
    dict
        ``statistic``, ``df`` (number of coefficients compared, or the rank used), ``p_value``.

    Raises
    ------
    TypeError
        If ``fe_result`` is not an OLS result or ``re_result`` not a MixedLM fit.
    ValueError
        If the models were fitted to different numbers of rows, or share no coefficient that
        varies within clusters.

    Warns
    -----
    UserWarning
        If the two estimates and their covariances coincide (a balanced design: every cluster has
        the same covariate means): the statistic is then 0 on ``k`` df, p = 1.
    UserWarning
        If :math:`V_\text{FE} - V_\text{RE}` is not positive definite (it happens in finite
        samples): a generalised inverse is used and ``df`` is its rank. The Mundlak form
        (:func:`mundlak_test`) avoids the problem.

    References
    ----------
    Hausman, J. A. (1978). Specification tests in econometrics. *Econometrica* 46, 1251-1271.
    """
    from statsmodels.regression.linear_model import RegressionResults

    inner_fe = getattr(fe_result, "_results", fe_result)
    if not isinstance(inner_fe, RegressionResults):
        raise TypeError(
            "fe_result must be an OLS fit with cluster dummies, e.g. "
            "smf.ols('y ~ x + C(group)', data).fit(); got " + type(fe_result).__name__
        )
    re_in = validate_result(re_result)
    arr = model_arrays(re_in)
    if int(inner_fe.nobs) != arr.n_obs:
        raise ValueError(
            f"the models use different rows ({int(inner_fe.nobs)} vs {arr.n_obs} observations); "
            "fit both to the same data (drop missing values first)."
        )
    model = re_in.model
    X = np.asarray(model.exog, dtype=float)
    codes = pd.Index(arr.groups).get_indexer(np.asarray(model.groups))
    fe_names = list(inner_fe.model.exog_names)
    names = []
    for j, name in enumerate(arr.fe_names):
        if name not in fe_names or re.fullmatch(r"(?i)intercept|const", name):
            continue
        if _varies_within(X[:, j], codes, len(arr.groups)):
            names.append(name)
    if not names:
        raise ValueError(
            "the two models share no coefficient that varies within clusters; the Hausman test "
            "compares the within-cluster effects (e.g. of age), not the intercept or "
            "cluster-level covariates."
        )
    i_re = [arr.fe_names.index(n) for n in names]
    i_fe = [fe_names.index(n) for n in names]
    b_re = arr.beta[i_re]
    b_fe = np.asarray(inner_fe.params, dtype=float)[i_fe]
    v_re = _gls_cov(arr)[np.ix_(i_re, i_re)]
    v_fe = np.asarray(inner_fe.cov_params(), dtype=float)[np.ix_(i_fe, i_fe)]
    diff = b_fe - b_re
    dv = v_fe - v_re
    se_fe = np.sqrt(np.diag(v_fe))
    scale = np.outer(se_fe, se_fe)
    if np.all(np.abs(diff) <= 1e-8 * se_fe) and np.all(np.abs(dv) <= 1e-4 * scale):
        # e.g. a balanced design: every cluster has the same mean of each compared covariate, so
        # the random-effects estimator uses no between-cluster information and equals the
        # within estimator, with the same covariance. H = 0 exactly: no evidence against RE.
        warnings.warn(
            "hausman: the fixed- and random-effects estimates of "
            f"{', '.join(names)} coincide (as in a balanced design, where every cluster has the "
            "same covariate means): the statistic is 0 on "
            f"{len(names)} df (p = 1). The data carry no between-cluster information on these "
            "coefficients, so the test cannot detect cluster-level confounding here.",
            UserWarning,
            stacklevel=2,
        )
        return {"statistic": 0.0, "df": len(names), "p_value": 1.0}
    w, vecs = np.linalg.eigh((dv + dv.T) / 2)
    tol = max(w.max(), 0) * 1e-10 if w.size else 0
    if np.all(w > tol):
        stat = float(diff @ np.linalg.solve(dv, diff))
        df = len(names)
    else:
        keep = w > tol
        df = int(keep.sum())
        warnings.warn(
            "hausman: V_FE - V_RE is not positive definite (eigenvalues "
            f"{', '.join(f'{x:.3g}' for x in w)}); a generalised inverse is used and df is its "
            f"rank ({df}). The statistic can be unreliable: prefer the Mundlak form, "
            "mundlak_test(formula, data, groups, variables).",
            UserWarning,
            stacklevel=2,
        )
        proj = vecs[:, keep].T @ diff
        stat = float(np.sum(proj**2 / w[keep])) if df else 0.0
    return {"statistic": stat, "df": int(df), "p_value": float(stats.chi2.sf(stat, df))}


def mundlak_test(formula, data, groups, variables, re_formula=None, reml=True):
    r"""Mundlak's test: do cluster means of the covariates add to a random-effects model?

    For each covariate :math:`x` in ``variables`` its cluster mean :math:`\bar x_g` is added
    (as column ``mean_<x>``) and the model

    .. math:: y_{ij} = x_{ij}'\beta + \bar x_g'\gamma + u_g + e_{ij}

    is fitted; :math:`\gamma = 0` is tested with the Wald statistic
    :math:`W = \hat\gamma' \widehat{\operatorname{Var}}(\hat\gamma)^{-1} \hat\gamma \sim
    \chi^2_k`, :math:`\widehat{\operatorname{Var}}` the model-based block of
    :math:`(\sum_g X_g' V_g^{-1} X_g)^{-1}`. :math:`\gamma \ne 0` means the random effects are
    correlated with the covariates (the question of the Hausman test), and the model with the
    means gives the within-cluster effects :math:`\beta` of the fixed-effects model. The test
    needs no difference of covariance matrices, so it is always defined.

    Parameters
    ----------
    formula : str
        Fixed-effects formula of the random-effects model, e.g. ``"sbp ~ age + bmi + smoker"``.
    data : pandas.DataFrame
    groups : str
        Cluster column.
    variables : list of str
        Numeric columns that vary within clusters whose cluster means are added.
    re_formula : str, optional
        Random-effects formula (default: random intercept).
    reml : bool, default True

    Returns
    -------
    dict
        ``statistic``, ``df``, ``p_value``.

    Raises
    ------
    ValueError
        If a variable is not a column, is not numeric, has missing values (the message names the
        rows and clusters), or is constant within every cluster.

    References
    ----------
    Mundlak, Y. (1978). On the pooling of time series and cross section data. *Econometrica* 46,
    69-85.
    """
    import statsmodels.formula.api as smf

    from ._compare import fit_tight

    variables = [variables] if isinstance(variables, str) else list(variables)
    if not variables:
        raise ValueError("variables must name at least one covariate")
    frame = data.copy()
    codes = pd.Index(pd.unique(frame[groups])).get_indexer(frame[groups])
    added = []
    for v in variables:
        if v not in frame.columns:
            raise ValueError(f"variable {v!r} is not a column of the data")
        if not pd.api.types.is_numeric_dtype(frame[v]):
            raise ValueError(
                f"variable {v!r} is not numeric; make a 0/1 indicator column for it first"
            )
        x = frame[v].to_numpy(dtype=float)
        missing = ~np.isfinite(x)
        if missing.any():
            where = frame.loc[missing, groups]
            clusters = pd.unique(where)
            shown = ", ".join(str(c) for c in clusters[:5]) + (", ..." if clusters.size > 5 else "")
            rows = ", ".join(str(r) for r in frame.index[missing][:5])
            raise ValueError(
                f"variable {v!r} has {int(missing.sum())} missing value(s) (rows {rows}"
                f"{', ...' if missing.sum() > 5 else ''}; {clusters.size} cluster(s) of "
                f"{groups!r}: {shown}). Cluster means of a variable with gaps are not defined; "
                "drop those rows from the data (e.g. data.dropna(subset=[...])) before "
                "mundlak_test, so that the means and the model use the same rows."
            )
        if not _varies_within(x, codes, codes.max() + 1):
            raise ValueError(
                f"variable {v!r} is constant within every cluster: its cluster mean is the "
                "variable itself, so there is nothing to test"
            )
        name = f"mean_{v}"
        frame[name] = frame.groupby(groups)[v].transform("mean")
        if np.ptp(frame[name].to_numpy(dtype=float)) <= 1e-10 * max(1.0, float(np.abs(x).max())):
            raise ValueError(
                f"the cluster means of {v!r} are the same in every cluster (a balanced design): "
                "they cannot be separated from the intercept, and the within- and "
                "between-cluster effects coincide, so there is nothing to test"
            )
        added.append(name)
    full = formula + " + " + " + ".join(added)
    fit = fit_tight(smf.mixedlm(full, frame, groups=groups, re_formula=re_formula), reml=reml)
    arr = model_arrays(fit)
    idx = [arr.fe_names.index(n) for n in added]
    gamma = arr.beta[idx]
    cov = _gls_cov(arr)[np.ix_(idx, idx)]
    stat = float(gamma @ np.linalg.solve(cov, gamma))
    df = len(idx)
    return {"statistic": stat, "df": df, "p_value": float(stats.chi2.sf(stat, df))}
