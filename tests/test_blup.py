"""BLUPs and conditional SDs against lme4's ranef(condVar = TRUE) (tests/reference/*.json)."""

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from _reference import DATASETS, load_reference, reference_cases, reference_data, tight_fit

from lmmcourse.stats import blups, shrinkage_factor

REL = 1e-3

# the singular phaa models (m3, m3_text) have a degenerate slope: compare only regular fits
CASES = reference_cases(DATASETS, keep=lambda rec: not rec["reml"]["isSingular"])


@pytest.mark.parametrize(("dataset", "model"), CASES)
def test_blups_match_lme4_ranef(dataset, model):
    rec = load_reference(dataset)["models"][model]
    out = blups(tight_fit(dataset, model))
    assert list(out.columns) == ["group", "effect", "blup", "sd"]
    ref = pd.DataFrame(rec["ranef"])
    ref["effect"] = ref["effect"].replace({"(Intercept)": "Intercept"})
    ref["effect"] = ref["effect"].map(lambda e: rec["python_names"].get(e, e))
    out = out.assign(group=out["group"].astype(str))
    merged = ref.merge(out, on=["group", "effect"], suffixes=("_r", "_py"), validate="1:1")
    assert len(merged) == len(ref) == len(out)
    scale = np.abs(merged["blup_r"]).max()
    np.testing.assert_allclose(merged["blup_py"], merged["blup_r"], rtol=REL, atol=REL * scale)
    np.testing.assert_allclose(merged["sd_py"], merged["sd_r"], rtol=REL)


def test_random_intercept_blup_is_shrunken_mean():
    # Dyestuff (balanced, m = 5): b_g = R (ybar_g - mu), Var(b_g | y) = sigma2_u (1 - R)
    res = tight_fit("dyestuff", "m0")
    vc = load_reference("dyestuff")["models"]["m0"]["reml"]["varcorr"]
    R = shrinkage_factor(vc["sigma2_u"], vc["sigma2_e"], 5)
    data = reference_data("dyestuff")
    raw = data.groupby("Batch")["Yield"].mean() - data["Yield"].mean()
    out = blups(res).set_index("group")
    np.testing.assert_allclose(out.loc[raw.index, "blup"], R * raw, rtol=1e-4)
    np.testing.assert_allclose(out["sd"], np.sqrt(vc["sigma2_u"] * (1 - R)), rtol=1e-4)


def test_blups_rejects_non_mixed():
    with pytest.raises(TypeError):
        blups(smf.ols("Yield ~ 1", reference_data("dyestuff")).fit())
