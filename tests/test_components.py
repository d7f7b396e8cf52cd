"""Variance components: ICC, R2, shrinkage and ANOVA estimators.

Expected values come from R (performance 0.10.2 via ``tests/reference/*.json``, made by
``tools/reference.R``), from the course text's worked numbers, or are worked by hand below.
"""

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from _reference import load_reference, reference_cases, reference_data, tight_fit

from lmmcourse.stats import (
    BoundaryFitWarning,
    anova_components,
    fit_tight,
    icc,
    icc_from_components,
    r2_nakagawa,
    shrinkage_factor,
)

REL = 1e-4
CASES = reference_cases()


# ---------------------------------------------------------------------------------------------
# hand-worked formulas
# ---------------------------------------------------------------------------------------------
def test_icc_from_components_course_text_numbers():
    assert icc_from_components(3, 12) == pytest.approx(0.20)        # 3 / 15
    assert icc_from_components(200, 800) == pytest.approx(0.20)     # 200 / 1000
    out = icc_from_components([3, 200, 1], [12, 800, 3])
    np.testing.assert_allclose(out, [0.2, 0.2, 0.25])
    with pytest.raises(ValueError, match="non-negative"):
        icc_from_components(-1, 3)


def test_shrinkage_factor_hand_values():
    assert shrinkage_factor(5, 20, 100) == pytest.approx(5 / 5.2)    # 0.961538...
    assert shrinkage_factor(5, 20, 4) == pytest.approx(0.5)
    np.testing.assert_allclose(shrinkage_factor(5, 20, [4, 100]), [0.5, 5 / 5.2])
    with pytest.raises(ValueError, match="at least 1"):
        shrinkage_factor(5, 20, 0)


def test_anova_components_unbalanced_by_hand():
    # groups A = {1, 3, 5}, B = {8, 10}, C = {6, 8, 10, 12}; N = 9, k = 3, grand mean 7
    # SSB = 3*16 + 2*4 + 4*4 = 72, MSB = 36; SSW = 8 + 2 + 20 = 30, MSW = 30/6 = 5
    # n0 = (9 - (9 + 4 + 16)/9) / 2 = 26/9; sigma2_u = (36 - 5) / (26/9) = 279/26
    data = pd.DataFrame({
        "y": [1, 3, 5, 8, 10, 6, 8, 10, 12],
        "g": ["A"] * 3 + ["B"] * 2 + ["C"] * 4,
    })
    out = anova_components(data, "y", "g")
    assert set(out) == {"sigma2_u", "sigma2_e", "icc", "n0", "msb", "msw", "negative"}
    assert out["msb"] == pytest.approx(36)
    assert out["msw"] == pytest.approx(5)
    assert out["n0"] == pytest.approx(26 / 9)
    assert out["sigma2_u"] == pytest.approx(279 / 26)
    assert out["sigma2_e"] == pytest.approx(5)
    assert out["icc"] == pytest.approx(279 / 409)
    assert out["negative"] is False


def test_anova_components_negative_estimate_is_kept_and_warned():
    # A = {1, 3}, B = {0, 4}: equal means, MSB = 0, MSW = (2 + 8)/2 = 5, n0 = 2
    data = pd.DataFrame({"y": [1.0, 3.0, 0.0, 4.0], "g": ["A", "A", "B", "B"]})
    with pytest.warns(UserWarning, match="negative"):
        out = anova_components(data, "y", "g")
    assert out["sigma2_u"] == pytest.approx(-2.5)
    assert out["negative"] is True


def test_anova_components_balanced_equals_reml():
    # balanced one-way data with MSB > MSW: the ANOVA estimates are the REML estimates (lme4)
    ref = load_reference("dyestuff")
    vc = ref["models"]["m0"]["reml"]["varcorr"]
    out = anova_components(reference_data("dyestuff"), "Yield", "Batch")
    assert out["n0"] == pytest.approx(5)
    assert out["sigma2_u"] == pytest.approx(vc["sigma2_u"], rel=REL)
    assert out["sigma2_e"] == pytest.approx(vc["sigma2_e"], rel=REL)


def test_anova_components_bad_input():
    data = pd.DataFrame({"y": [1.0, np.nan, 2.0, 3.0], "g": ["A", "A", "B", "B"]})
    with pytest.raises(ValueError, match="1 missing"):
        anova_components(data, "y", "g")
    with pytest.raises(ValueError, match="not in the data"):
        anova_components(data, "z", "g")
    with pytest.raises(ValueError, match="two groups"):
        anova_components(pd.DataFrame({"y": [1.0, 2.0], "g": ["A", "A"]}), "y", "g")


# ---------------------------------------------------------------------------------------------
# performance::icc and r2_nakagawa
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("dataset", "model"), CASES)
def test_icc_matches_performance(dataset, model):
    ref = load_reference(dataset)["models"][model]["icc"]
    res = tight_fit(dataset, model)
    if ref["adjusted"] is None:  # performance: singular fit, NA
        with pytest.warns(BoundaryFitWarning):
            out = icc(res)
        assert np.isnan(out["adjusted"]) and np.isnan(out["conditional"])
        return
    out = icc(res)
    assert set(out) == {"adjusted", "conditional"}
    assert out["adjusted"] == pytest.approx(ref["adjusted"], rel=REL)
    assert out["conditional"] == pytest.approx(ref["unadjusted"], rel=REL)


@pytest.mark.parametrize(("dataset", "model"), CASES)
def test_r2_nakagawa_matches_performance(dataset, model):
    ref = load_reference(dataset)["models"][model]["r2_nakagawa"]
    res = tight_fit(dataset, model)
    if ref["conditional"] is None:  # performance: singular fit, NA; marginal = v_f/(v_f+v_e)
        with pytest.warns(BoundaryFitWarning):
            out = r2_nakagawa(res)
        assert np.isnan(out["conditional"])
        assert out["marginal"] == pytest.approx(ref["marginal"], rel=REL)
        return
    out = r2_nakagawa(res)
    assert out["conditional"] == pytest.approx(ref["conditional"], rel=REL)
    assert out["marginal"] == pytest.approx(ref["marginal"], rel=REL, abs=1e-12)


def test_icc_random_intercept_is_variance_ratio():
    res = tight_fit("dyestuff", "m0")
    vc = load_reference("dyestuff")["models"]["m0"]["reml"]["varcorr"]
    expected = vc["sigma2_u"] / (vc["sigma2_u"] + vc["sigma2_e"])
    assert icc(res)["adjusted"] == pytest.approx(expected, rel=REL)


def _singular_fit():
    # every group has the same mean profile: the between-group variance is estimated at zero
    rng = np.random.default_rng(7)
    base = rng.normal(size=5)
    x = np.tile(np.arange(5.0), 8)
    y = np.tile(base - base.mean(), 8) + 0.5 * x + rng.normal(scale=0.01, size=40)
    data = pd.DataFrame({"y": y, "x": x, "g": np.repeat(list("abcdefgh"), 5)})
    res = fit_tight(smf.mixedlm("y ~ x", data, groups="g"))
    return res, data


def test_singular_fit_gives_warned_nan_icc_and_marginal_r2():
    res, data = _singular_fit()
    with pytest.warns(BoundaryFitWarning, match="'g'"):
        out = icc(res)
    assert np.isnan(out["adjusted"]) and np.isnan(out["conditional"])
    with pytest.warns(BoundaryFitWarning, match="conditional R2"):
        r2 = r2_nakagawa(res)
    assert np.isnan(r2["conditional"])
    # with the random effect at zero, marginal R2 = v_f / (v_f + v_e) from the fitted model
    X = np.column_stack([np.ones(len(data)), data["x"]])
    v_f = np.var(X @ res.fe_params.to_numpy(), ddof=1)
    assert r2["marginal"] == pytest.approx(v_f / (v_f + res.scale), rel=1e-10)


def test_icc_rejects_non_mixed_results():
    res, data = _singular_fit()
    ols = smf.ols("y ~ x", data).fit()
    with pytest.raises(TypeError, match="MixedLMResults"):
        icc(ols)
    with pytest.raises(TypeError):
        r2_nakagawa(data)


def test_non_converged_fit_is_refused():
    d = reference_data("sleepstudy")
    md = smf.mixedlm("Reaction ~ Days", d, groups="Subject", re_formula="~Days")
    with pytest.warns(Warning):
        res = md.fit(maxiter=2, method="bfgs")
    assert not res.converged
    with pytest.raises(RuntimeError, match="did not converge"):
        icc(res)
    with pytest.raises(RuntimeError, match="did not converge"):
        r2_nakagawa(res)
