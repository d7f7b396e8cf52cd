"""BLUPs and conditional SDs against lme4's ranef(condVar = TRUE) (tests/reference/*.json)."""

import json
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf

from lmmcourse.stats import blups, fit_tight, shrinkage_factor

REF = Path(__file__).resolve().parent / "reference"
ROOT = REF.parent.parent
REL = 1e-3
DATASETS = ["sleepstudy", "dyestuff", "orthodont"] + (
    ["phaa_clinics"] if (REF / "phaa_clinics.json").exists() else []
)


def _load(name):
    return json.loads((REF / f"{name}.json").read_text())


def _prepare(dataset, df):
    """Columns as tests/reference/README.md describes them for phaa_clinics."""
    if dataset == "phaa_clinics":
        s = df["clinic_size"].astype(float)
        df["clinic_size_z"] = (s - s.mean()) / s.std()
        df["age_mean"] = df.groupby("clinic_id")["age"].transform("mean")
        df["age_within"] = df["age"] - df["age_mean"]
    return df


@cache
def _fit(dataset, model):
    ref = _load(dataset)
    spec = ref["models"][model]["python"]
    df = _prepare(dataset, pd.read_csv(ROOT / ref["data_file"]))
    kw = {} if spec["re_formula"] == "1" else {"re_formula": spec["re_formula"]}
    return fit_tight(smf.mixedlm(spec["formula"], df, groups=spec["groups"], **kw))


# the singular phaa models (m3, m3_text) have a degenerate slope: compare only regular fits
CASES = [
    pytest.param(ds, m, id=f"{ds}-{m}")
    for ds in DATASETS
    for m, rec in _load(ds)["models"].items()
    if not rec["reml"]["isSingular"]
]


@pytest.mark.parametrize(("dataset", "model"), CASES)
def test_blups_match_lme4_ranef(dataset, model):
    rec = _load(dataset)["models"][model]
    out = blups(_fit(dataset, model))
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
    res = _fit("dyestuff", "m0")
    vc = _load("dyestuff")["models"]["m0"]["reml"]["varcorr"]
    R = shrinkage_factor(vc["sigma2_u"], vc["sigma2_e"], 5)
    data = pd.read_csv(ROOT / _load("dyestuff")["data_file"])
    raw = data.groupby("Batch")["Yield"].mean() - data["Yield"].mean()
    out = blups(res).set_index("group")
    np.testing.assert_allclose(out.loc[raw.index, "blup"], R * raw, rtol=1e-4)
    np.testing.assert_allclose(out["sd"], np.sqrt(vc["sigma2_u"] * (1 - R)), rtol=1e-4)


def test_blups_rejects_non_mixed():
    with pytest.raises(TypeError):
        blups(smf.ols("Yield ~ 1", pd.read_csv(ROOT / "tests/reference/data/Dyestuff.csv")).fit())
