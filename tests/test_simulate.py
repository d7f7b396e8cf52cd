"""Tests for lmmcourse.simulate.

Reference values: the ANOVA estimator of a one-way model is written out below from Searle,
Casella & McCulloch (1992, eq. 3.21); the null distribution of the boundary LRT is the 50:50
mixture of chi2_0 and chi2_1 (Self & Liang 1987), whose upper 5% point is 2.71 (chi2_1's 10%
point); the REML log-likelihood is checked against statsmodels' own ``llf``.
"""

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.regression.mixed_linear_model import MixedLM

from lmmcourse import simulate as S


def anova_sigma2_u(df):
    """Method-of-moments estimate (MSB - MSW) / n0, n0 = (N - sum m_j^2 / N) / (k - 1)."""
    groups = df.groupby("group")["y"]
    m = groups.size().to_numpy()
    k, n = m.size, m.sum()
    means = groups.mean().to_numpy()
    msb = (m * (means - df["y"].mean()) ** 2).sum() / (k - 1)
    msw = ((df["y"] - groups.transform("mean")) ** 2).sum() / (n - k)
    n0 = (n - (m**2).sum() / n) / (k - 1)
    return (msb - msw) / n0


# ------------------------------------------------------------------------------ one_way
def test_one_way_shape_sizes_and_seed():
    df = S.one_way(4, [2, 3, 4, 5], 1.0, 2.0, mu=10.0, seed=3)
    assert list(df.columns) == ["group", "y"]
    assert df.groupby("group").size().tolist() == [2, 3, 4, 5]
    pd.testing.assert_frame_equal(df, S.one_way(4, [2, 3, 4, 5], 1.0, 2.0, mu=10.0, seed=3))
    assert not df["y"].equals(S.one_way(4, [2, 3, 4, 5], 1.0, 2.0, mu=10.0, seed=4)["y"])


def test_one_way_moments_match_design():
    df = S.one_way(2000, 10, 4.0, 9.0, mu=5.0, seed=1)
    # balanced: E[MSW] = sigma2_e, E[(MSB - MSW)/m] = sigma2_u
    assert df["y"].mean() == pytest.approx(5.0, abs=0.15)
    assert anova_sigma2_u(df) == pytest.approx(4.0, rel=0.1)
    resid = df["y"] - df.groupby("group")["y"].transform("mean")
    assert (resid**2).sum() / (len(df) - 2000) == pytest.approx(9.0, rel=0.03)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(n_groups=3, m=[2, 3]), "one cluster size or 3 sizes"),
        (dict(n_groups=1, m=5), "n_groups"),
        (dict(n_groups=3, m=0), "whole numbers >= 1"),
        (dict(n_groups=3, m=2.5), "whole numbers >= 1"),
    ],
)
def test_one_way_rejects_bad_design(kwargs, match):
    with pytest.raises(ValueError, match=match):
        S.one_way(sigma2_u=1.0, sigma2_e=1.0, seed=1, **kwargs)


def test_one_way_rejects_negative_variance():
    with pytest.raises(ValueError, match="sigma2_u"):
        S.one_way(3, 4, -1.0, 1.0, seed=1)


# ------------------------------------------------------------------------------ REML profile
@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_reml_profile_equals_statsmodels_llf(seed):
    df = S.one_way(6, [2, 3, 5, 6, 8, 12], 1.5, 4.0, mu=2.0, seed=seed)
    prof = S.one_way_reml_profile(df["y"], df["group"])
    model = MixedLM(df["y"].to_numpy(), np.ones((len(df), 1)), groups=df["group"].to_numpy())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = model.fit(reml=True, method=["powell"])
    # statsmodels' optimiser may stop slightly short, never above the exact maximum
    assert res.llf <= prof["llf"] + 1e-6
    assert res.llf == pytest.approx(prof["llf"], abs=1e-3)
    # at gamma = 0: the REML log-likelihood of the linear model y = mu + e (p = 1),
    # -(n-p)/2 [log(2 pi RSS/(n-p)) + 1] - 1/2 log|X'X|, with X'X = n
    y, n = df["y"].to_numpy(), len(df)
    rss = ((y - y.mean()) ** 2).sum()
    l0 = -(n - 1) / 2 * (np.log(2 * np.pi * rss / (n - 1)) + 1) - 0.5 * np.log(n)
    assert prof["llf0"] == pytest.approx(l0, abs=1e-9)
    # statsmodels' cov_re is on the data scale, like sigma2_u
    assert float(np.asarray(res.cov_re)[0, 0]) == pytest.approx(prof["sigma2_u"], abs=0.05)


def test_reml_profile_balanced_equals_anova_when_positive():
    # balanced data with MSB > MSW: REML = ANOVA estimator exactly (Searle et al., ch. 6)
    df = S.one_way(8, 5, 3.0, 2.0, seed=11)
    est = anova_sigma2_u(df)
    assert est > 0
    assert S.one_way_reml_profile(df["y"], df["group"])["sigma2_u"] == pytest.approx(
        est, rel=1e-5
    )


# ------------------------------------------------------------------------------ ML vs REML
def test_ml_underestimates_relative_to_reml():
    r = S.ml_reml_bias(5, 5, 1.0, 4.0, n_sim=2000, seed=7, engine="profile")
    assert r["sigma2_u_ml"].mean() < r["sigma2_u_reml"].mean()
    assert (r["sigma2_u_ml"] <= r["sigma2_u_reml"] + 1e-9).all()
    # REML is close to unbiased for sigma2_u = 1 (truncation at 0 adds a little upwards bias)
    assert r["sigma2_u_reml"].mean() == pytest.approx(1.0, abs=0.15)
    # balanced data, positive estimates: ML = ((1 - 1/k) MSB - MSW) / m < REML = (MSB - MSW)/m
    assert r["sigma2_u_ml"].mean() < 0.85


def test_ml_reml_bias_statsmodels_engine_agrees_with_profile():
    kw = dict(n_groups=5, m=4, sigma2_u=2.0, sigma2_e=4.0, n_sim=8, seed=3)
    sm = S.ml_reml_bias(**kw)
    pr = S.ml_reml_bias(**kw, engine="profile")
    assert list(sm.columns) == [
        "sim", "sigma2_u_ml", "sigma2_u_reml", "sigma2_e_ml", "sigma2_e_reml",
        "warnings_ml", "warnings_reml",
    ]
    assert (sm[["warnings_ml", "warnings_reml"]] >= 0).all().all()
    assert (pr[["warnings_ml", "warnings_reml"]] == 0).all().all()
    for col in ("sigma2_u_ml", "sigma2_u_reml"):
        np.testing.assert_allclose(sm[col], pr[col], atol=0.05)
    assert sm["sigma2_u_ml"].mean() < sm["sigma2_u_reml"].mean()


def test_ml_reml_bias_rejects_unknown_engine():
    with pytest.raises(ValueError, match="engine"):
        S.ml_reml_bias(3, 3, 1.0, 1.0, 2, seed=1, engine="R")


# ------------------------------------------------------------------------------ boundary LRT
def test_boundary_lrt_null_mixture():
    lrt = S.boundary_lrt_null(20, 5, 1.0, n_sim=400, seed=2024)
    assert lrt.shape == (400,) and (lrt >= 0).all()
    p0 = (lrt == 0).mean()
    assert 0.35 <= p0 <= 0.65
    tail = (lrt > 2.71).mean()
    # 50:50 chi2_0/chi2_1 mixture predicts 0.05 above 2.71; chi2_1 alone predicts 0.10
    assert stats.chi2.sf(2.71, 1) == pytest.approx(0.10, abs=0.001)
    assert abs(tail - 0.05) < abs(tail - 0.10)
    assert tail < 0.08


def test_boundary_lrt_matches_statsmodels_on_a_replicate():
    # the statistic for the first replicate, recomputed from statsmodels' REML llf
    lrt = S.boundary_lrt_null(5, 6, 2.0, n_sim=1, seed=5)[0]
    rng = np.random.default_rng(5)
    sizes = np.full(5, 6)
    g = np.repeat(np.arange(5), sizes)
    rng.normal(0.0, 0.0, (1, 5))  # the simulator draws (zero-variance) cluster effects first
    y = rng.normal(0.0, np.sqrt(2.0), (1, g.size))[0]
    n = y.size
    rss = ((y - y.mean()) ** 2).sum()
    l0 = -(n - 1) / 2 * (np.log(2 * np.pi * rss / (n - 1)) + 1) - 0.5 * np.log(n)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = MixedLM(y, np.ones((n, 1)), groups=g).fit(reml=True, method=["powell"])
    assert lrt == pytest.approx(max(2 * (res.llf - l0), 0.0), abs=2e-3)


# ------------------------------------------------------------------------------ negative ANOVA
def test_negative_anova_example():
    df = S.negative_anova_example()
    assert len(df) == 14
    assert sorted(df.groupby("group").size()) == [2, 3, 4, 5]  # unbalanced
    assert anova_sigma2_u(df) < 0
    # REML cannot go below zero: the estimate sits on the boundary instead
    assert S.one_way_reml_profile(df["y"], df["group"])["sigma2_u"] == 0.0
