"""Uncorrelated random slopes, R's ``(x || g)``, against lme4 / lmerTest / pbkrtest / performance.

Models: mlmRev's Exam, ``normexam ~ standLRT + (standLRT || school)``, and lme4's cake,
``angle ~ recipe * t10 + (t10 || replicate)`` with t10 = (temp - 200) / 10. Reference values in
tests/reference/round2_fit.json (tools/reference_round2_fit.R).
"""

from __future__ import annotations

import json
import warnings
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from statsmodels.regression.mixed_linear_model import MixedLMParams

from lmmcourse.stats import (
    blups,
    bootstrap_lrt,
    compare,
    fit_tight,
    icc,
    kenward_roger,
    kenward_roger_f,
    r2_nakagawa,
    ranova,
    satterthwaite,
    satterthwaite_f,
    singular_components,
)

REF = Path(__file__).resolve().parent / "reference"

#: Relative tolerance for numbers that move along the likelihood surface. cake's slope variance
#: lies on a flat ridge: lme4's own deviance function is 2.3e-10 (log-likelihood) higher at our
#: optimum than at lme4's, and the two optima differ by 5e-4 in that variance, so what depends on
#: it (KR df of t10, conditional SDs of the slope) agrees to a few 1e-4 only.
RIDGE = {"exam_uncorrelated": 1e-4, "cake_uncorrelated": 1e-3}

CASES = {
    "exam_uncorrelated": ("Exam", "normexam ~ standLRT", "school", "~standLRT",
                          {"(Intercept)": "Intercept", "standLRT": "standLRT"}),
    "cake_uncorrelated": ("cake", "angle ~ recipe * t10", "replicate", "~t10",
                          {"(Intercept)": "Intercept", "recipeB": "recipe[T.B]",
                           "recipeC": "recipe[T.C]", "t10": "t10",
                           "recipeB:t10": "recipe[T.B]:t10", "recipeC:t10": "recipe[T.C]:t10"}),
}


@cache
def ref() -> dict:
    return json.loads((REF / "round2_fit.json").read_text())["models"]


@cache
def data(name: str) -> pd.DataFrame:
    return pd.read_csv(REF / "data" / f"{name}.csv")


def model(key: str):
    csv, formula, groups, re_formula, _ = CASES[key]
    return smf.mixedlm(formula, data(csv), groups=groups, re_formula=re_formula)


@cache
def fitted(key: str, correlated: bool = False, reml: bool = True):
    return fit_tight(model(key), reml=reml, correlated=correlated)


def _check_table(table, rows, names, rel_se, rel_df):
    for row in rows:
        got = table.loc[names[row["term"]]]
        assert got["estimate"] == pytest.approx(row["estimate"], rel=1e-6, abs=1e-9)
        assert got["std_error"] == pytest.approx(row["std_error"], rel=rel_se)
        assert got["df"] == pytest.approx(row["df"], rel=rel_df)
        assert got["p_value"] == pytest.approx(row["p_value"], rel=1e-3, abs=1e-12)


@pytest.mark.parametrize("key", list(CASES))
def test_fit_matches_lme4(key):
    r = ref()[key]
    res = fitted(key)
    assert abs(res.llf - r["reml"]["logLik"]) < 1e-6
    G = np.asarray(res.cov_re)
    assert G[1, 0] == 0.0 and G[0, 1] == 0.0
    var = [blk["cov"][0][0] for blk in r["reml"]["varcorr"]]
    # cake's slope variance sits on a flat ridge: lme4 stops 5e-4 (relative) away, at a
    # log-likelihood 2e-10 below ours
    np.testing.assert_allclose(np.diag(G), var, rtol=1e-3)
    ml = fitted(key, reml=False)
    assert abs(ml.llf - r["ml"]["logLik"]) < 1e-6
    assert singular_components(res) == []


@pytest.mark.parametrize("key", list(CASES))
def test_free_pattern_is_the_same_as_correlated_false(key):
    k_fe = len(model(key).exog_names)
    free = MixedLMParams.from_components(np.ones(k_fe), np.eye(2))
    res = fit_tight(model(key), free=free)
    assert res.llf == pytest.approx(fitted(key).llf, abs=1e-8)
    # a statsmodels fit with the same pattern is recognised as uncorrelated too
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # statsmodels' absolute-units boundary warning
        sm = model(key).fit(free=free, method=["lbfgs"])
    assert abs(sm.llf - res.llf) < 1e-3
    assert compare(sm, fitted(key, correlated=True))["df"] == 1


@pytest.mark.parametrize("key", list(CASES))
def test_satterthwaite_and_kenward_roger_match_lmertest(key):
    r = ref()[key]
    names = CASES[key][4]
    res = fitted(key)
    _check_table(satterthwaite(res), r["satterthwaite"], names, rel_se=1e-5, rel_df=RIDGE[key])
    _check_table(kenward_roger(res), r["kenward_roger"], names, rel_se=1e-5, rel_df=RIDGE[key])


def test_exam_standlrt_df_is_lmertests():
    # the symptom: 36.8 when the zero covariance was counted as a parameter
    df = satterthwaite(fitted("exam_uncorrelated")).loc["standLRT", "df"]
    assert df == pytest.approx(56.9361019471888, rel=1e-5)


def test_cake_f_tests_match_lmertest():
    r = ref()["cake_uncorrelated"]["f_tests"]["recipe"]
    res = fitted("cake_uncorrelated")
    L = ["recipe[T.B]", "recipe[T.C]"]
    sat, kr = satterthwaite_f(res, L), kenward_roger_f(res, L)
    assert sat["F"] == pytest.approx(r["satterthwaite"]["F"], rel=1e-5)
    assert sat["num_df"] == r["satterthwaite"]["NumDF"]
    assert sat["den_df"] == pytest.approx(r["satterthwaite"]["DenDF"], rel=1e-4)
    assert kr["F"] == pytest.approx(r["kenward_roger"]["F"], rel=1e-5)
    assert kr["den_df"] == pytest.approx(r["kenward_roger"]["DenDF"], rel=1e-4)
    assert kr["p_value"] == pytest.approx(r["kenward_roger"]["p_value"], rel=1e-4)


@pytest.mark.parametrize("key", list(CASES))
def test_ranova_gives_two_one_df_rows(key):
    rows = ref()[key]["ranova"]
    out = ranova(fitted(key))
    assert list(out["term"]) == [row["term"] for row in rows]
    for (_, got), row in zip(out.iloc[1:].iterrows(), rows[1:], strict=True):
        assert got["df"] == row["Df"] == 1
        assert got["n_params"] == row["npar"]
        assert got["loglik"] == pytest.approx(row["logLik"], abs=1e-5)
        assert got["lrt"] == pytest.approx(row["LRT"], rel=1e-5, abs=1e-5)
        # a lone variance tested at 0: the boundary p-value is half the plain one
        assert got["p_value_boundary"] == pytest.approx(got["p_value"] / 2, rel=1e-9)


@pytest.mark.parametrize("key", list(CASES))
def test_compare_uncorrelated_with_correlated_is_one_df(key):
    r = ref()[key]["compare_correlated"]
    out = compare(fitted(key), fitted(key, correlated=True))
    assert out["n_params"] == tuple(r["npar"])
    np.testing.assert_allclose(out["loglik"], r["logLik"], atol=1e-6)
    assert out["df"] == r["Df"] == 1
    assert out["chisq"] == pytest.approx(r["Chisq"], rel=1e-5, abs=1e-6)
    assert out["p_value"] == pytest.approx(r["p_value"], rel=1e-4)
    assert out["p_value_boundary"] == out["p_value"]  # a covariance is not on the boundary
    with pytest.raises(ValueError, match="wrong order"):
        compare(fitted(key, correlated=True), fitted(key))


def test_compare_intercept_with_uncorrelated_slope():
    r = ref()["exam_uncorrelated"]["compare_intercept"]
    d = data("Exam")
    m0 = fit_tight(smf.mixedlm("normexam ~ standLRT", d, groups="school"))
    out = compare(m0, fitted("exam_uncorrelated"))
    assert out["n_params"] == tuple(r["npar"])
    assert out["df"] == 1
    assert out["chisq"] == pytest.approx(r["Chisq"], rel=1e-5)
    assert out["p_value_boundary"] == pytest.approx(out["p_value"] / 2, rel=1e-9)


@pytest.mark.parametrize("key", list(CASES))
def test_icc_r2_and_blups_match_r(key):
    r = ref()[key]
    res = fitted(key)
    ic, r2 = icc(res), r2_nakagawa(res)
    assert ic["adjusted"] == pytest.approx(r["icc"]["adjusted"], rel=1e-4)
    assert ic["conditional"] == pytest.approx(r["icc"]["unadjusted"], rel=1e-4)
    assert r2["marginal"] == pytest.approx(r["r2_nakagawa"]["marginal"], rel=1e-4)
    assert r2["conditional"] == pytest.approx(r["r2_nakagawa"]["conditional"], rel=1e-4)
    b = blups(res)
    b["group"] = b["group"].astype(str)
    want = pd.DataFrame(r["ranef"])
    want["effect"] = want["effect"].replace({"(Intercept)": "Intercept"})
    merged = b.merge(want, on=["group", "effect"], suffixes=("", "_r"))
    assert len(merged) == len(want) == len(b)
    scale = np.abs(merged["blup_r"]).max()
    np.testing.assert_allclose(merged["blup"], merged["blup_r"], atol=RIDGE[key] * scale)
    np.testing.assert_allclose(merged["sd"], merged["sd_r"], rtol=RIDGE[key])


def test_bootstrap_keeps_the_models_uncorrelated():
    # 5 simulations only: checks that the refits use the uncorrelated pattern (observed LRT equals
    # compare's ML statistic) and run; the p-value itself is Monte Carlo noise
    u, c = fitted("cake_uncorrelated"), fitted("cake_uncorrelated", correlated=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = bootstrap_lrt(u, c, n_sim=5, seed=1, progress=False)
    assert out["lrt"] == pytest.approx(compare(u, c)["chisq"], abs=1e-6)
    assert out["n_sim"] + out["n_failed"] == 5
