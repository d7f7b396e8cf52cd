"""Profile-likelihood and bootstrap intervals (``stats.confint``, ``stats.icc_interval``).

Reference: lme4 1.1-31 ``confint(m, method = "profile", oldNames = FALSE)`` at 95% and 90%,
written by ``tools/reference_round2_infer.R`` into ``tests/reference/round2_infer.json`` for
eight models on R data sets that are not the lesson's (sleepstudy, Dyestuff, Dyestuff2 with a
random-intercept variance of 0, Orthodont, ergoStool, cake, Rail). lme4 interpolates a spline
through a grid of profile points, ``confint`` finds the crossings by root finding, so the
tolerance is 1e-3 of the interval's width (observed: at most 3e-4, on the boundary fit).
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

from lmmcourse import stats

REF = Path(__file__).resolve().parent / "reference"
ROOT = REF.parent.parent


@cache
def _ref() -> dict:
    return json.loads((REF / "round2_infer.json").read_text())


@cache
def _fit(name: str):
    spec = _ref()["models"][name]
    data = pd.read_csv(ROOT / _ref()["data_files"][spec["data"]])
    py = spec["python"]
    data[py["groups"]] = data[py["groups"]].astype(str)
    model = smf.mixedlm(py["formula"], data, groups=py["groups"], re_formula=py["re_formula"])
    if py.get("uncorrelated"):
        # R's (x || g): statsmodels holds the covariance at 0 with a diagonal free pattern
        k = model.k_re
        free = MixedLMParams.from_components(np.ones(model.k_fe), np.eye(k))
        return model.fit(reml=True, free=free, method=["lbfgs"])
    return stats.fit_tight(model)


@cache
def _confint(name: str, level: float = 0.95):
    with warnings.catch_warnings():
        # Dyestuff2 is a singular fit: confint says its intervals are approximate (tested below)
        warnings.filterwarnings("ignore", message="confint: the ML fit", category=UserWarning)
        return stats.confint(_fit(name), level=level)


MODELS = list(_ref()["models"])


@pytest.mark.parametrize("name", MODELS)
def test_profile_matches_lme4(name):
    ref = _ref()["models"][name]["confint_profile"]
    ci = _confint(name)
    assert list(ci.columns) == ["2.5 %", "97.5 %"]
    assert sorted(ci.index) == sorted(ref["rows"])
    # variance parameters first, in lme4's order; then statsmodels' fixed effects
    n_var = sum(1 for r in ref["rows"] if r.startswith(("sd_", "cor_")) or r == "sigma")
    assert list(ci.index[:n_var]) == ref["rows"][:n_var]
    assert list(ci.index[n_var:]) == list(_fit(name).model.exog_names)
    got = ci.loc[ref["rows"]].to_numpy()
    want = np.c_[ref["lower"], ref["upper"]]
    width = want[:, 1] - want[:, 0]
    assert np.all(np.abs(got - want) <= 1e-3 * width[:, None] + 1e-12), got - want


@pytest.mark.parametrize("name", ["sleepstudy_int", "dyestuff2"])
def test_profile_level_90(name):
    ref = _ref()["models"][name]["confint_profile"]
    ci = _confint(name, 0.90)
    assert list(ci.columns) == ["5 %", "95 %"]
    got = ci.loc[ref["rows"]].to_numpy()
    want = np.c_[ref["lower90"], ref["upper90"]]
    width = want[:, 1] - want[:, 0]
    assert np.all(np.abs(got - want) <= 1e-3 * width[:, None] + 1e-12), got - want


def test_profile_boundary_variance_starts_at_zero():
    # Dyestuff2: the batch variance is estimated as 0; lme4's lower end is exactly 0
    with pytest.warns(UserWarning, match="singular"):
        ci = stats.confint(_fit("dyestuff2"))
    assert ci.loc["sd_(Intercept)|Batch", "2.5 %"] == 0.0
    assert ci.attrs["method"] == "profile"


def test_profile_of_reml_fit_is_ml_profile():
    # lme4 profiles the ML deviance even for a REML fit: an ML fit gives the same intervals
    fit = _fit("rail")
    ml = stats.fit_tight(fit.model, reml=False)
    np.testing.assert_allclose(stats.confint(ml).to_numpy(), _confint("rail").to_numpy(),
                               rtol=1e-6)


def test_boot_is_seeded_and_near_profile():
    fit = _fit("sleepstudy_int")
    a = stats.confint(fit, method="boot", n_sim=200, seed=11)
    b = stats.confint(fit, method="boot", n_sim=200, seed=11)
    pd.testing.assert_frame_equal(pd.DataFrame(a), pd.DataFrame(b))
    assert a.attrs["method"] == "boot" and a.attrs["n_sim"] + a.attrs["n_failed"] == 200
    prof = _confint("sleepstudy_int")
    assert list(a.index) == list(prof.index)
    # independent methods, Monte Carlo error: ends within a fifth of the profile width
    width = (prof["97.5 %"] - prof["2.5 %"]).to_numpy()
    assert np.all(np.abs(a.to_numpy() - prof.to_numpy()) <= 0.2 * width[:, None])


def test_icc_interval_random_intercept():
    fit = _fit("sleepstudy_int")
    out = stats.icc_interval(fit, n_sim=200, seed=3)
    s2u = float(np.asarray(fit.cov_re)[0, 0])
    assert out.loc["ICC", "estimate"] == pytest.approx(s2u / (s2u + fit.scale), rel=1e-12)
    lo, hi = out.loc["ICC", "2.5 %"], out.loc["ICC", "97.5 %"]
    assert 0 < lo < out.loc["ICC", "estimate"] < hi < 1
    draws = np.asarray(out.attrs["draws"])
    assert draws.size == out.attrs["n_sim"] and np.all((draws >= 0) & (draws <= 1))
    assert lo == pytest.approx(np.quantile(draws, 0.025)) and hi == pytest.approx(
        np.quantile(draws, 0.975))
    again = stats.icc_interval(fit, n_sim=200, seed=3)
    assert again.loc["ICC", "2.5 %"] == lo


def test_bad_arguments():
    fit = _fit("rail")
    with pytest.raises(ValueError, match="level"):
        stats.confint(fit, level=95)
    with pytest.raises(ValueError, match="method"):
        stats.confint(fit, method="wald")
    with pytest.raises(ValueError, match="n_sim"):
        stats.confint(fit, method="boot", n_sim=5)
    with pytest.raises(TypeError, match="MixedLMResults"):
        stats.confint(fit.model)


def test_uncorrelated_fit_has_no_correlation_row():
    ci = _confint("sleepstudy_uncorr")
    assert not any(r.startswith("cor_") for r in ci.index)
    # lme4 (Days || Subject) fits a diagonal covariance; an unstructured refit differs
    corr = _confint("sleepstudy_slope")
    assert abs(ci.loc["sd_Days|Subject", "2.5 %"] - corr.loc["sd_Days|Subject", "2.5 %"]) > 0.1


def test_partial_covariance_pattern_is_refused():
    from types import SimpleNamespace

    from lmmcourse.stats._confint import _is_diagonal

    pattern = np.ones((3, 3))
    pattern[2, 0] = pattern[0, 2] = 0          # one covariance fixed, the others free
    fake = SimpleNamespace(model=SimpleNamespace(k_re=3),
                           freepat=SimpleNamespace(cov_re=pattern))
    with pytest.raises(NotImplementedError, match="some, but not all"):
        _is_diagonal(fake)
    fake.freepat.cov_re = np.eye(3)
    assert _is_diagonal(fake) is True


def test_orange_singular_fit_warns_and_stays_in_range():
    # Orange, circumference ~ a + (a | Tree): the ML fit has a zero intercept variance (lme4's
    # own profile stops with "profiling detected new, lower deviance" here)
    data = pd.read_csv(REF / "data" / "Orange.csv")
    data["Tree"] = data["Tree"].astype(str)
    fit = stats.fit_tight(smf.mixedlm("circumference ~ a", data, groups="Tree", re_formula="~a"))
    with pytest.warns(UserWarning, match="singular"):
        ci = stats.confint(fit)
    cor = ci.loc["cor_a.(Intercept)|Tree"]
    assert -1 <= cor.iloc[0] <= cor.iloc[1] <= 1
    assert ci.loc["sd_(Intercept)|Tree", "2.5 %"] == 0.0
    assert np.all(ci["2.5 %"] <= ci["97.5 %"])
