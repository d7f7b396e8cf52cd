"""Box-Cox profile likelihood for a mixed model, against lme4 ML fits (sleepstudy.json)."""

import numpy as np
import pytest
from _reference import load_reference, reference_data
from scipy import stats

from lmmcourse.stats import boxcox


def _sleep():
    return load_reference("sleepstudy"), reference_data("sleepstudy")


def test_profile_matches_lme4():
    ref, data = _sleep()
    prof = ref["boxcox"]["profile"]
    lambdas = [p["lambda"] for p in prof]
    with pytest.warns(UserWarning) as caught:
        out = boxcox("Reaction ~ Days", data, "Subject", lambdas)
    messages = " ".join(str(w.message) for w in caught)
    assert "end of the grid" in messages and "lower end" in messages
    assert np.isnan(out["ci"][0]) and out["best_lambda"] == -1
    assert set(out) == {"profile", "best_lambda", "ci"}
    assert list(out["profile"].columns) == ["lambda", "loglik"]
    np.testing.assert_allclose(out["profile"]["lambda"], lambdas)
    np.testing.assert_allclose(out["profile"]["loglik"], [p["profile_logLik"] for p in prof],
                               rtol=1e-4)
    # lambda = 1 is the untransformed response: the ML log-likelihood of lme4's refitML
    assert out["profile"]["loglik"].iloc[-1] == pytest.approx(
        ref["models"]["m_int"]["ml"]["logLik"], rel=1e-6)


def test_best_lambda_and_interval_inside_grid():
    ref, data = _sleep()
    grid = np.arange(-3.0, 0.51, 0.5)
    out = boxcox("Reaction ~ Days", data, "Subject", grid)
    prof = out["profile"]
    lo, hi = out["ci"]
    assert lo < out["best_lambda"] < hi
    # the interval ends sit where the profile is chi2_1(0.95)/2 below its maximum
    cut = prof["loglik"].max() - stats.chi2.ppf(0.95, 1) / 2
    inside = prof.loc[prof["loglik"] >= cut, "lambda"]
    assert lo <= inside.min() and hi >= inside.max()
    assert inside.min() - 0.5 < lo and hi < inside.max() + 0.5
    # R's profile (5 points) is increasing towards lambda = -1, so the maximum is below -0.5
    assert out["best_lambda"] < -0.5


def test_non_positive_response_is_refused():
    _, data = _sleep()
    bad = data.assign(Reaction=data["Reaction"] - 250)
    n_bad = int((bad["Reaction"] <= 0).sum())
    with pytest.raises(ValueError, match=rf"{n_bad} of 180 values.*shift"):
        boxcox("Reaction ~ Days", bad, "Subject", [0, 1, 2])
    with pytest.raises(ValueError, match="at least 3"):
        boxcox("Reaction ~ Days", data, "Subject", [0, 1])
