"""lmmcourse.stats.fit_tight and its engine (_fit), against lme4 / lmerTest / pbkrtest.

Reference values: tests/reference/round2_fit.json, written by tools/reference_round2_fit.R from R's
Orange, ChickWeight and mlmRev's Exam and Hsb82 data (tests/reference/data/*.csv). For every model
the R script keeps the best of lme4's three optimisers, so the reference is the true optimum.
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
    BoundaryFitWarning,
    check_singular,
    fit_tight,
    kenward_roger,
    ranova,
    satterthwaite,
    singular_components,
)
from lmmcourse.stats._fit import _Profiled

REF = Path(__file__).resolve().parent / "reference"
LL_TOL = 1e-6  # the target: the same optimum as lme4, logLik within 1e-6

# name in the JSON -> (csv, fixed formula, groups, re_formula)
MODELS = {
    "orange": ("Orange", "circumference ~ a", "Tree", "~a"),
    "chick_slope": ("ChickWeight", "weight ~ Time", "Chick", "~Time"),
    "exam_slope": ("Exam", "normexam ~ standLRT", "school", "~standLRT"),
    "hsb82_slope": ("Hsb82", "mAch ~ cses", "school", "~cses"),
}


@cache
def ref() -> dict:
    return json.loads((REF / "round2_fit.json").read_text())


@cache
def data(name: str) -> pd.DataFrame:
    return pd.read_csv(REF / "data" / f"{name}.csv")


def model(key: str, frame: pd.DataFrame | None = None):
    csv, formula, groups, re_formula = MODELS[key]
    return smf.mixedlm(formula, data(csv) if frame is None else frame, groups=groups,
                       re_formula=re_formula)


@cache
def fitted(key: str, reml: bool = True):
    return fit_tight(model(key), reml=reml)


def _by_term(rows):
    return {r["term"]: r for r in rows}


# --------------------------------------------------------------------------------------------
# the optimum
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("key", list(MODELS))
@pytest.mark.parametrize("reml", [True, False], ids=["REML", "ML"])
def test_loglik_and_estimates_match_lme4(key, reml):
    r = ref()["models"][key]["reml" if reml else "ml"]
    res = fitted(key, reml)
    assert res.converged
    assert abs(res.llf - r["logLik"]) < LL_TOL
    fe = np.asarray(res.fe_params)
    np.testing.assert_allclose(fe, list(r["fixef"].values()), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(np.sqrt(res.scale), r["sigma"], rtol=1e-5)
    cov = np.asarray(r["varcorr"][0]["cov"], dtype=float)
    np.testing.assert_allclose(np.asarray(res.cov_re), cov, rtol=1e-4, atol=1e-6 * cov.max())


def test_orange_reaches_the_correlation_minus_one_optimum():
    # lme4's default optimiser stops at logLik -133.1055 (intercept variance 0); the optimum,
    # found by bobyqa, has correlation -1 and logLik -132.99831
    r = ref()["models"]["orange"]
    res = fitted("orange")
    assert abs(res.llf - (-132.998314605434)) < LL_TOL
    assert r["reml"]["isSingular"]
    G = np.asarray(res.cov_re)
    assert G[1, 0] / np.sqrt(G[0, 0] * G[1, 1]) == pytest.approx(-1.0, abs=1e-9)
    assert singular_components(res) == ["a"]
    with pytest.warns(BoundaryFitWarning):
        check_singular(res)


def test_orange_downstream_numbers_at_the_true_optimum():
    r = ref()["models"]["orange"]
    res = fitted("orange")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sat = satterthwaite(res)
        kr = kenward_roger(res)
    for table, rows in ((sat, r["satterthwaite"]), (kr, r["kenward_roger"])):
        rr = _by_term(rows)
        for name, rname in (("Intercept", "(Intercept)"), ("a", "a")):
            assert table.loc[name, "estimate"] == pytest.approx(rr[rname]["estimate"], rel=1e-6)
            assert table.loc[name, "std_error"] == pytest.approx(rr[rname]["std_error"], rel=1e-4)
            assert table.loc[name, "df"] == pytest.approx(rr[rname]["df"], rel=1e-3)


@pytest.mark.parametrize("i", range(24))
def test_orange_subsets_never_below_lme4(i):
    sub = ref()["orange_subsets"][i]
    d = data("Orange")
    d = d[d["Tree"].isin(sub["trees"]) & d["age"].isin(sub["ages"])]
    for reml, key in ((True, "reml"), (False, "ml")):
        res = fit_tight(model("orange", d), reml=reml)
        # never a lower likelihood than lme4's best optimiser; sometimes a higher one
        assert res.llf >= sub[key]["logLik"] - LL_TOL
        if sub[key]["isSingular"] and abs(res.llf - sub[key]["logLik"]) < LL_TOL:
            assert singular_components(res), "a boundary fit must be reported as singular"
        if reml and sub["satterthwaite"] and abs(res.llf - sub[key]["logLik"]) < LL_TOL:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                df = satterthwaite(res)["df"].to_numpy()
            np.testing.assert_allclose(df, [r["df"] for r in sub["satterthwaite"]], rtol=1e-3)


def test_chick_slope_inference_matches_lmertest():
    r = ref()["models"]["chick_slope"]
    res = fitted("chick_slope")
    sat, kr = satterthwaite(res), kenward_roger(res)
    for table, rows in ((sat, r["satterthwaite"]), (kr, r["kenward_roger"])):
        rr = _by_term(rows)
        for name, rname in (("Intercept", "(Intercept)"), ("Time", "Time")):
            assert table.loc[name, "std_error"] == pytest.approx(rr[rname]["std_error"], rel=1e-5)
            assert table.loc[name, "df"] == pytest.approx(rr[rname]["df"], rel=1e-5)
    out = ranova(res)
    # lmerTest echoes the formula as written ("Time in (Time | Chick)"); compare by position
    assert len(out) == len(r["ranova"])
    for (_, got), row in zip(out.iterrows(), r["ranova"], strict=True):
        assert got["loglik"] == pytest.approx(row["logLik"], abs=1e-5)
        assert got["n_params"] == row["npar"]


# --------------------------------------------------------------------------------------------
# smaller items of issue 14
# --------------------------------------------------------------------------------------------
def test_ranova_without_random_intercept_keeps_group_and_reduction():
    r = ref()["models"]["chick_nointercept"]
    d = data("ChickWeight")
    res = fit_tight(smf.mixedlm("weight ~ Time", d, groups="Chick", re_formula="0 + Time"))
    assert abs(res.llf - r["reml"]["logLik"]) < LL_TOL
    out = ranova(res)
    rows = r["ranova"]
    assert list(out["term"]) == [row["term"] for row in rows]  # 'Time in (0 + Time | Chick)'
    assert out["loglik"].iloc[1] == pytest.approx(rows[1]["logLik"], abs=1e-5)
    assert out["df"].iloc[1] == rows[1]["Df"] == 0
    assert np.isnan(out["p_value"].iloc[1])
    assert out.attrs["reduced_to"]["Time in (0 + Time | Chick)"] == "(1 | Chick)"
    assert "(1 | Chick)" in out.attrs["note"]


def test_response_in_large_units_gives_no_near_singular_warning():
    d = data("ChickWeight").copy()
    d["weight_mg"] = d["weight"] * 1e3
    base = fitted("chick_slope")
    big = fit_tight(smf.mixedlm("weight_mg ~ Time", d, groups="Chick", re_formula="~Time"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any warning fails the test
        sat, kr = satterthwaite(big), kenward_roger(big)
    np.testing.assert_allclose(sat["df"], satterthwaite(base)["df"], rtol=1e-6)
    np.testing.assert_allclose(kr["df"], kenward_roger(base)["df"], rtol=1e-6)


# --------------------------------------------------------------------------------------------
# backward compatibility and the results object
# --------------------------------------------------------------------------------------------
def test_signature_and_results_object_stay_compatible():
    m = model("exam_slope")
    first = fit_tight(m, True)
    again = fit_tight(model("exam_slope"), True, first.params_object)  # positional start_params
    assert again.llf == pytest.approx(first.llf, abs=1e-8)
    assert first.reml and first.method == "REML"
    bse = np.asarray(first.bse_fe)
    assert np.all(np.isfinite(bse)) and np.all(bse > 0)
    assert "Mixed Linear Model" in str(first.summary())
    re = first.random_effects
    assert len(re) == data("Exam")["school"].nunique()


def test_fit_tight_rejects_what_it_cannot_fit():
    with pytest.raises(TypeError, match="unfitted statsmodels MixedLM"):
        fit_tight(data("Orange"))
    m = model("orange")
    with pytest.raises(ValueError, match="either free= or correlated="):
        fit_tight(m, correlated=False, free=MixedLMParams.from_components(np.ones(2), np.eye(2)))
    with pytest.raises(NotImplementedError, match="variance fixed at zero"):
        fit_tight(m, free=MixedLMParams.from_components(np.ones(2), np.diag([1.0, 0.0])))
    d = data("Exam").assign(z=lambda f: f["standLRT"] ** 2)
    m3 = smf.mixedlm("normexam ~ standLRT", d, groups="school", re_formula="~standLRT + z")
    pattern = np.array([[1.0, 1, 1], [1, 1, 0], [1, 0, 1]])  # Lambda_21 = 0 does not make G_21 = 0
    with pytest.raises(NotImplementedError, match="does not fix a covariance at zero"):
        fit_tight(m3, free=MixedLMParams.from_components(np.ones(2), pattern))


# --------------------------------------------------------------------------------------------
# the internal API that other modules use
# --------------------------------------------------------------------------------------------
def test_profiled_deviance_at_lme4_theta():
    # lme4's theta is the lower triangle of Lambda column by column; ours is row by row
    for key in ("chick_slope", "orange"):
        r = ref()["models"][key]["reml"]
        t = r["theta"]  # (L00, L10, L11)
        prof = _Profiled(model(key))
        theta = np.array([t[0], t[1], t[2]])
        assert prof.deviance(theta, True) == pytest.approx(-2 * r["logLik"], abs=1e-6)


def test_profiled_gradient_matches_finite_differences():
    prof = _Profiled(model("orange"))
    theta = np.array([0.3, -1.2, 0.4])
    for reml in (True, False):
        _, g = prof.deviance_grad(theta, reml)
        h = 1e-6
        num = [(prof.deviance(theta + h * e, reml) - prof.deviance(theta - h * e, reml)) / (2 * h)
               for e in np.eye(3)]
        np.testing.assert_allclose(g, num, rtol=1e-5, atol=1e-6)


def test_profiled_sigma_fixed_and_constrained_refits():
    prof = _Profiled(model("chick_slope"))
    theta, ll = prof.fit(True)
    assert ll == pytest.approx(ref()["models"]["chick_slope"]["reml"]["logLik"], abs=LL_TOL)
    _, _, beta, rss = prof.parts(theta)
    sigma_hat = np.sqrt(rss / (prof.n - prof.p))
    assert prof.deviance_sigma(theta, sigma_hat, True) == pytest.approx(-2 * ll, abs=1e-8)
    assert prof.deviance_sigma(theta, 1.1 * sigma_hat, True) > -2 * ll
    # holding theta_0 at its optimum changes nothing; elsewhere the fit is worse
    _, ll_same = prof.fit(True, fixed={0: theta[0]})
    assert ll_same == pytest.approx(ll, abs=1e-7)
    _, ll_off = prof.fit(True, fixed={0: 0.5 * theta[0]})
    assert ll_off < ll
    # fixing a fixed effect at its estimate (ML) gives the same maximum
    t_ml, ll_ml = prof.fit(False)
    b_ml = prof.parts(t_ml)[2]
    _, ll_fixed = prof.fix_beta(1, b_ml[1]).fit(False)
    assert ll_fixed == pytest.approx(ll_ml, abs=1e-7)
    res = prof.results(theta, True)
    assert res.llf == pytest.approx(ll, abs=1e-9)


def test_boundary_fit_still_gives_random_effects_and_summary():
    # statsmodels inverts cov_re for random_effects and fails on a singular fit; lme4's ranef
    # works there, and so must ours (same values as blups, which follow lme4's formula)
    from lmmcourse.stats import blups

    res = fitted("orange")
    want = blups(res)
    re = res.random_effects
    for label, series in re.items():
        rows = want[want["group"] == label]
        np.testing.assert_allclose(series.to_numpy(), rows["blup"].to_numpy(), rtol=1e-10)
        cov = res.random_effects_cov[label].to_numpy()
        np.testing.assert_allclose(np.sqrt(np.diag(cov)), rows["sd"].to_numpy(), rtol=1e-8)
    assert "Log-Likelihood:     -132.9983" in str(res.summary())
    assert np.all(np.isfinite(res.fittedvalues))
