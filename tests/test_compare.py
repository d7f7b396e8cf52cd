"""ranova, compare and bootstrap_lrt against R (lmerTest 3.1-3, lme4 1.1-31, pbkrtest 0.5.2).

Reference values: ``tests/reference/*.json`` (``tools/reference.R``), published sleepstudy
numbers (lme4: ``anova(ri, rs)`` gives Chisq 42.139 on 2 df), and chi-square identities.
"""

import numpy as np
import pytest
import statsmodels.formula.api as smf
from _reference import (
    DATASETS,
    REF,
    load_reference,
    reference_cases,
    reference_data,
    tight_fit,
)
from scipy import stats

from lmmcourse.stats import bootstrap_lrt, compare, fit_tight, ranova

LL_REL, STAT_REL, P_ABS = 1e-4, 1e-3, 1e-4
MODELS = reference_cases()
COMPARISONS = [
    pytest.param(ds, c, id=f"{ds}-{c['name']}")
    for ds in DATASETS
    for c in load_reference(ds)["comparisons"]
]


# ---------------------------------------------------------------------------------------------
# ranova
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("dataset", "model"), MODELS)
def test_ranova_matches_lmertest(dataset, model):
    ref = load_reference(dataset)["models"][model]["ranova"]
    out = ranova(tight_fit(dataset, model))
    assert list(out.columns) == ["term", "loglik", "n_params", "lrt", "df", "p_value",
                                 "p_value_boundary"]
    assert len(out) == len(ref)
    assert out["term"].iloc[0] == "<none>"
    assert out[["lrt", "df", "p_value"]].iloc[0].isna().all()
    for (_, row), r in zip(out.iterrows(), ref, strict=True):
        assert row["n_params"] == r["npar"]
        assert row["loglik"] == pytest.approx(r["logLik"], rel=LL_REL)
        if r["LRT"] is not None:
            assert row["lrt"] == pytest.approx(r["LRT"], rel=STAT_REL)
            assert row["df"] == r["Df"]
            assert row["p_value"] == pytest.approx(r["p_value"], abs=P_ABS)


def test_ranova_boundary_p_values():
    # lone random intercept: mixture 1/2 chi2_0 + 1/2 chi2_1, i.e. half the chi2_1 p-value
    dy = ranova(tight_fit("dyestuff", "m0")).iloc[1]
    assert dy["term"] == "(1 | Batch)"
    assert dy["p_value_boundary"] == pytest.approx(dy["p_value"] / 2, rel=1e-12)
    # Dyestuff: LRT 6.369 on 1 df, p = 0.01161 (lmerTest output, also in dyestuff.json)
    assert dy["p_value"] == pytest.approx(0.01161, abs=1e-5)
    # random slope reduced to the intercept: 1/2 chi2_1 + 1/2 chi2_2
    sl = ranova(tight_fit("sleepstudy", "m_slope")).iloc[1]
    assert sl["term"] == "Days in (1 + Days | Subject)"
    expected = 0.5 * stats.chi2.sf(sl["lrt"], 1) + 0.5 * stats.chi2.sf(sl["lrt"], 2)
    assert sl["p_value_boundary"] == pytest.approx(expected, rel=1e-12)
    assert sl["p_value_boundary"] < sl["p_value"]


def test_ranova_rejects_ols():
    with pytest.raises(TypeError):
        ranova(smf.ols("Yield ~ 1", reference_data("dyestuff")).fit())


# ---------------------------------------------------------------------------------------------
# compare
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("dataset", "comp"), COMPARISONS)
def test_compare_matches_lme4_anova(dataset, comp):
    out = compare(tight_fit(dataset, comp["reduced"]), tight_fit(dataset, comp["full"]),
                  refit=comp["refit"])
    red, full = comp["table"]
    for key, rkey in [("aic", "AIC"), ("bic", "BIC"), ("loglik", "logLik")]:
        assert out[key][0] == pytest.approx(red[rkey], rel=LL_REL)
        assert out[key][1] == pytest.approx(full[rkey], rel=LL_REL)
    assert out["n_params"] == (red["npar"], full["npar"])
    assert out["chisq"] == pytest.approx(full["Chisq"], rel=STAT_REL)
    assert out["df"] == full["Df"]
    assert out["p_value"] == pytest.approx(full["p_value"], abs=P_ABS)
    fa, fb = tight_fit(dataset, comp["reduced"]), tight_fit(dataset, comp["full"])
    if list(fa.model.exog_names) == list(fb.model.exog_names):
        # the models differ only in a random slope: mixture 1/2 chi2_1 + 1/2 chi2_2
        expected = 0.5 * stats.chi2.sf(out["chisq"], 1) + 0.5 * stats.chi2.sf(out["chisq"], 2)
        assert out["p_value_boundary"] == pytest.approx(expected, rel=1e-12)
    else:
        assert out["p_value_boundary"] is None
    if comp["refit"]:
        assert "refitted with ML" in out["note"]
    else:
        assert "no refit" in out["note"]


def test_compare_published_sleepstudy():
    out = compare(tight_fit("sleepstudy", "m_int"), tight_fit("sleepstudy", "m_slope"))
    assert set(out) == {"aic", "bic", "loglik", "n_params", "chisq", "df", "p_value",
                        "p_value_boundary", "note"}
    assert out["chisq"] == pytest.approx(42.139, abs=5e-4)
    assert out["df"] == 2
    assert out["loglik"][1] == pytest.approx(-875.9697, abs=5e-5)


def test_compare_fixed_effects_refits_ml_without_boundary_p():
    d = reference_data("sleepstudy")
    reduced = fit_tight(smf.mixedlm("Reaction ~ 1", d, groups="Subject"))
    full = tight_fit("sleepstudy", "m_int")
    out = compare(reduced, full)
    assert out["p_value_boundary"] is None
    assert "fixed effects differ" in out["note"]
    # ML log-likelihood of the random-intercept model: lme4 refitML gives the ml block
    assert out["loglik"][1] == pytest.approx(load_reference("sleepstudy")["models"]["m_int"]["ml"]["logLik"],
                                             rel=LL_REL)
    assert out["df"] == 1
    with pytest.raises(ValueError, match="refit=True"):
        compare(reduced, full, refit=False)


def test_compare_not_nested_names_the_terms():
    # like the course text's m2 vs m3: the "full" model drops a fixed effect of the reduced one
    # while adding a random slope
    d = reference_data("sleepstudy")
    reduced = tight_fit("sleepstudy", "m_int")                     # Reaction ~ Days + (1 | Subject)
    full = fit_tight(smf.mixedlm("Reaction ~ 1", d, groups="Subject", re_formula="~Days"))
    with pytest.raises(ValueError, match=r"not nested.*\{Days\} are not in the full model"):
        compare(reduced, full)
    with pytest.raises(ValueError, match="not nested"):
        bootstrap_lrt(reduced, full, n_sim=5, seed=1)


def test_compare_bad_pairs():
    ri, rs = tight_fit("sleepstudy", "m_int"), tight_fit("sleepstudy", "m_slope")
    with pytest.raises(ValueError, match="wrong order"):
        compare(rs, ri)
    with pytest.raises(ValueError, match="same"):
        compare(ri, ri)
    half = reference_data("sleepstudy").iloc[:90]
    other = fit_tight(smf.mixedlm("Reaction ~ Days", half, groups="Subject", re_formula="~Days"))
    with pytest.raises(ValueError, match="different data"):
        compare(ri, other)
    with pytest.raises(TypeError):
        compare(ri, smf.ols("Reaction ~ Days", reference_data("sleepstudy")).fit())


@pytest.mark.skipif(not (REF / "phaa_clinics.json").exists(), reason="phaa_clinics.json not made")
def test_compare_course_text_m2_m3_not_nested():
    m2, m3_text = tight_fit("phaa_clinics", "m2"), tight_fit("phaa_clinics", "m3_text")
    with pytest.raises(ValueError, match=r"clinic_size_z\} are not in the full model"):
        compare(m2, m3_text)


# ---------------------------------------------------------------------------------------------
# bootstrap_lrt
# ---------------------------------------------------------------------------------------------
def test_bootstrap_lrt_small_run():
    ri, rs = tight_fit("sleepstudy", "m_int"), tight_fit("sleepstudy", "m_slope")
    out = bootstrap_lrt(ri, rs, n_sim=19, seed=11, progress=False)
    assert set(out) == {"lrt", "p_value", "n_sim", "n_failed"}
    assert out["lrt"] == pytest.approx(42.139, abs=5e-4)   # the observed ML statistic
    assert out["n_sim"] + out["n_failed"] == 19
    # LRT = 42 is far beyond any simulated value under H0: p = 1 / (1 + n)
    assert out["p_value"] == pytest.approx(1 / (1 + out["n_sim"]))
    again = bootstrap_lrt(ri, rs, n_sim=19, seed=11, progress=False)
    assert again == out
    with pytest.raises(ValueError, match="n_sim"):
        bootstrap_lrt(ri, rs, n_sim=0)


@pytest.mark.slow
def test_bootstrap_lrt_agrees_with_pbmodcomp():
    # R: PBmodcomp(m_slope, m_int, nsim = 1000) with set.seed(1) on Orthodont
    # (distance ~ age + Sex + (age | Subject) vs (1 | Subject)) gave LRT 2.0213, PBtest p 0.2214
    # (997 usable samples). Our p has Monte Carlo SE sqrt(.22 * .78 / 300) = 0.024, R's 0.013:
    # allow 4 combined SEs.
    out = bootstrap_lrt(tight_fit("orthodont", "m_int"), tight_fit("orthodont", "m_slope"), n_sim=300,
                        seed=2024, progress=False)
    assert out["lrt"] == pytest.approx(2.0213, abs=1e-3)
    assert out["p_value"] == pytest.approx(0.2214, abs=4 * np.hypot(0.024, 0.013))
    assert out["n_failed"] == 0
