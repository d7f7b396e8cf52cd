"""Leave-one-cluster-out influence (``stats.cluster_influence``) against lme4.

Reference: lme4 1.1-31 ``cooks.distance(influence(m, groups = g))`` and the refitted fixed
effects ``influence(m, groups = g)[[2]]``, from ``tools/reference_round2_infer.R``
(``tests/reference/round2_infer.json``) on sleepstudy (random slopes), Dyestuff, Orthodont,
ergoStool, cake and Rail. lme4's refits stop at its optimiser's tolerance, so Cook's distances
are compared to 1e-4 of the largest one and the coefficient changes to 1e-6 of their SE.
"""

from __future__ import annotations

import json
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


MODELS = [k for k, v in _ref()["models"].items() if "influence" in v]


@pytest.mark.parametrize("name", MODELS)
def test_cooks_distance_matches_lme4(name):
    inf = _ref()["models"][name]["influence"]
    fit = _fit(name)
    out = stats.cluster_influence(fit)
    assert list(out.index) == inf["clusters"]          # order of first appearance, as lme4
    assert out.index.name == inf["group"]
    cd = np.asarray(inf["cooks_distance"])
    np.testing.assert_allclose(out["cooks_distance"].to_numpy(), cd, rtol=0,
                               atol=1e-4 * cd.max())
    se = np.sqrt(np.diag(np.asarray(fit.cov_params())))  # only a scale for the tolerance
    for term, deleted in inf["fixef_deleted"].items():
        change = np.asarray(deleted) - inf["fixef"][term]
        np.testing.assert_allclose(out[f"dfbeta_{term}"].to_numpy(), change, rtol=0,
                                   atol=1e-6 * se[list(fit.model.exog_names).index(term)])
    sizes = pd.Series(np.asarray(fit.model.groups)).value_counts()
    assert (out["n_obs"] == sizes.loc[out.index].to_numpy()).all()


def test_cooks_distance_by_hand_on_one_cluster():
    # Rail, random intercept: refit without rail "2" by statsmodels itself, and apply lme4's
    # formula D = (J - p) / (J p) * d' [sigma^2 (X'V^-1 X)^-1]^-1 d by hand.
    fit = _fit("rail")
    data = pd.read_csv(ROOT / _ref()["data_files"]["Rail"])
    data["Rail"] = data["Rail"].astype(str)
    sub = stats.fit_tight(smf.mixedlm("travel ~ 1", data[data["Rail"] != "2"], groups="Rail"))
    d = float(sub.fe_params.iloc[0] - fit.fe_params.iloc[0])
    J, p = 6, 1
    # V_g = s2u 11' + s2e I (3 rows each): 1'V_g^-1 1 = 3 / (s2e + 3 s2u)
    s2u, s2e = float(np.asarray(fit.cov_re)[0, 0]), float(fit.scale)
    var_beta = 1.0 / (J * 3 / (s2e + 3 * s2u))
    want = (J - p) / (J * p) * d**2 / var_beta
    out = stats.cluster_influence(fit)
    assert out.loc["2", "cooks_distance"] == pytest.approx(want, rel=1e-6)
    assert out.loc["2", "dfbeta_Intercept"] == pytest.approx(d, rel=1e-6)


def test_needs_three_clusters():
    data = pd.read_csv(ROOT / _ref()["data_files"]["Rail"])
    two = data[data["Rail"].isin([1, 2])]
    fit = stats.fit_tight(smf.mixedlm("travel ~ 1", two, groups="Rail"))
    with pytest.raises(ValueError, match="at least 3 clusters"):
        stats.cluster_influence(fit)


def test_cluster_that_alone_identifies_a_coefficient():
    data = pd.read_csv(ROOT / _ref()["data_files"]["Rail"])
    data["special"] = (data["Rail"] == 1).astype(float)   # a covariate only rail 1 has
    fit = stats.fit_tight(smf.mixedlm("travel ~ special", data, groups="Rail"))
    with pytest.raises(ValueError, match="without cluster '?1'?"):
        stats.cluster_influence(fit)
