"""lmmcourse.stats._core: validation, lme4's singularity rule, per-cluster arrays."""

import copy
import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from _reference import issue_10239_fit, load_reference, reference_data

from lmmcourse.stats._core import (
    BoundaryFitWarning,
    ModelArrays,
    ZeroFixedEffectWarning,
    _chol_psd,
    check_singular,
    is_reml,
    model_arrays,
    singular_components,
    validate_result,
)


@pytest.fixture(scope="module")
def sleep():
    return reference_data("sleepstudy")


@pytest.fixture(scope="module")
def sleep_ref():
    return load_reference("sleepstudy")["models"]


@pytest.fixture(scope="module")
def slope_fit(sleep):
    return smf.mixedlm("Reaction ~ Days", sleep, groups="Subject", re_formula="~Days").fit()


# ------------------------------------------------------------------------------------------
# validate_result
# ------------------------------------------------------------------------------------------


def test_validate_accepts_fit_and_returns_bare_results(slope_fit):
    assert validate_result(slope_fit) is slope_fit._results
    assert validate_result(slope_fit._results) is slope_fit._results


def test_validate_rejects_other_objects(sleep):
    ols = smf.ols("Reaction ~ Days", sleep).fit()
    with pytest.raises(TypeError, match="smf.mixedlm.*got statsmodels.regression.linear_model"):
        validate_result(ols)
    model = smf.mixedlm("Reaction ~ Days", sleep, groups="Subject")
    with pytest.raises(TypeError, match=r"call \.fit\(\)"):
        validate_result(model)
    with pytest.raises(TypeError, match="DataFrame"):
        validate_result(sleep)


def test_validate_rejects_non_converged_fit(sleep):
    md = smf.mixedlm("Reaction ~ Days", sleep, groups="Subject", re_formula="~Days")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = md.fit(method=["lbfgs"], maxiter=2)
    assert not res.converged
    with pytest.raises(RuntimeError, match=r"did not converge.*\|grad\|.*method="):
        validate_result(res)


def test_validate_rejects_variance_components(sleep):
    d = sleep.assign(half=(sleep["Days"] > 4).astype(int))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = smf.mixedlm("Reaction ~ Days", d, groups="Subject", re_formula="0",
                          vc_formula={"half": "0 + C(half)"}).fit()
    if not res.converged:
        pytest.skip("variance-component fit did not converge here")
    with pytest.raises(NotImplementedError, match="vc_formula"):
        validate_result(res)


def test_is_reml(sleep, slope_fit):
    assert is_reml(slope_fit) is True
    ml = smf.mixedlm("Reaction ~ Days", sleep, groups="Subject").fit(reml=False)
    assert is_reml(ml) is False
    with pytest.raises(TypeError):
        is_reml("not a fit")


# ------------------------------------------------------------------------------------------
# singularity (lme4's isSingular on the relative Cholesky factor)
# ------------------------------------------------------------------------------------------


def test_relative_cholesky_factor_is_lme4_theta(slope_fit, sleep_ref):
    # lme4's theta lists the lower triangle of Lambda column by column
    lam = _chol_psd(np.asarray(slope_fit.cov_re) / slope_fit.scale)
    theta = [lam[0, 0], lam[1, 0], lam[1, 1]]
    np.testing.assert_allclose(theta, sleep_ref["m_slope"]["reml"]["theta"], rtol=1e-4)


def test_regular_fit_is_not_singular(slope_fit, sleep_ref):
    assert sleep_ref["m_slope"]["reml"]["isSingular"] is False
    assert singular_components(slope_fit) == []
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert check_singular(slope_fit) == []


def test_singularity_is_judged_on_the_relative_scale(sleep):
    # reaction time in seconds: variances ~1e-3 trip statsmodels' absolute 0.01 rule,
    # but theta (relative to the residual SD) is unchanged, so lme4 calls it regular
    d = sleep.assign(rt_s=sleep["Reaction"] / 1000)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = smf.mixedlm("rt_s ~ Days", d, groups="Subject").fit()
    assert any("boundary" in str(w.message) for w in caught)
    assert singular_components(res) == []


def test_zero_variance_fit_is_singular_and_warns(zero_data):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = smf.mixedlm("y ~ x + w", zero_data, groups="g").fit()
    assert singular_components(res) == ["g"]
    with pytest.warns(BoundaryFitWarning, match="'g' \\(the random intercept\\)"):
        assert check_singular(res) == ["g"]


def test_perfect_correlation_is_singular(slope_fit):
    # G = [[4, 2], [2, 1]] (correlation 1): Cholesky factor [[2, 0], [1, 0]], so the slope
    # component has theta_11 = 0 although both variances are large
    fake = copy.copy(slope_fit._results)
    fake.cov_re = pd.DataFrame([[4.0, 2.0], [2.0, 1.0]], index=slope_fit.cov_re.index,
                               columns=slope_fit.cov_re.columns)
    fake.scale = 1.0
    assert singular_components(fake) == ["Days"]
    np.testing.assert_allclose(_chol_psd(np.asarray(fake.cov_re)), [[2.0, 0.0], [1.0, 0.0]])
    with pytest.warns(BoundaryFitWarning, match="'Days'"):
        check_singular(fake)
    assert singular_components(fake, tol=0.0) == []


# ------------------------------------------------------------------------------------------
# model_arrays
# ------------------------------------------------------------------------------------------


def test_model_arrays_random_slope(slope_fit, sleep, sleep_ref):
    arr = model_arrays(slope_fit)
    assert isinstance(arr, ModelArrays)
    ref = sleep_ref["m_slope"]["reml"]
    assert arr.n_obs == 180 and arr.n_fe == 2 and len(arr.groups) == 18
    assert arr.var_names == ["sigma2_u0", "sigma_u01", "sigma2_u1", "sigma2_e"]
    assert arr.n_cov == 3
    rc = ref["varcorr"]["re_cov"]
    np.testing.assert_allclose(
        arr.gamma,
        [rc["(Intercept)"]["(Intercept)"], rc["Days"]["(Intercept)"], rc["Days"]["Days"],
         ref["varcorr"]["sigma2_e"]], rtol=1e-4)
    np.testing.assert_allclose(arr.beta, [ref["fixef"]["(Intercept)"], ref["fixef"]["Days"]],
                               rtol=1e-6)
    # each cluster: 10 rows of its own data, Z = [1, Days]
    for g, yg, Xg, Zg in zip(arr.groups, arr.y, arr.X, arr.Z, strict=True):
        rows = sleep[sleep["Subject"] == g]
        np.testing.assert_array_equal(yg, rows["Reaction"].to_numpy())
        np.testing.assert_array_equal(Xg[:, 1], rows["Days"].to_numpy())
        np.testing.assert_array_equal(Zg, np.column_stack([np.ones(10), rows["Days"]]))
    # the derivative matrices of G: E_00, E_01 + E_10, E_11, and 0 for the residual
    dGs = [dG for _, dG in arr.var_params]
    np.testing.assert_array_equal(dGs[0], [[1, 0], [0, 0]])
    np.testing.assert_array_equal(dGs[1], [[0, 1], [1, 0]])
    np.testing.assert_array_equal(dGs[2], [[0, 0], [0, 1]])
    np.testing.assert_array_equal(dGs[3], np.zeros((2, 2)))


def test_model_arrays_random_intercept_names(sleep):
    res = smf.mixedlm("Reaction ~ Days", sleep, groups="Subject").fit()
    arr = model_arrays(res)
    assert arr.var_names == ["sigma2_u", "sigma2_e"]
    assert arr.re_names == ["Subject"]
    assert arr.fe_names == ["Intercept", "Days"]


def test_issue_10239_is_detected_and_corrected(zero_data):
    res = issue_10239_fit(zero_data)
    fe = np.asarray(res.fe_params)
    assert res.converged and fe[0] == 0.0 and fe[2] == 0.0  # statsmodels' silent zeros
    with pytest.warns(ZeroFixedEffectWarning, match="Intercept, w .statsmodels issue 10239"):
        validate_result(res)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ZeroFixedEffectWarning)
        arr = model_arrays(res)
    # with sigma2_u = 0 the GLS fit is OLS: same coefficients, residual variance RSS/(n - p)
    ols = smf.ols("y ~ x + w", zero_data).fit()
    np.testing.assert_allclose(arr.beta, ols.params, rtol=1e-8)
    assert arr.sigma2 == pytest.approx(ols.scale, rel=1e-8)
