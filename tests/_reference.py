"""Shared helpers for the tests that compare with R: reference JSON, data and fitted models.

The JSON files and CSVs in ``tests/reference/`` are written by ``tools/reference.R`` (their layout
is described in ``tests/reference/README.md``). Everything here is cached for the whole test
session: each JSON file and CSV is read once and each reference model is fitted once, however many
test modules use it (``functools.cache`` on module-level functions; pytest imports this module
once).
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

from lmmcourse.stats import fit_tight

REF = Path(__file__).resolve().parent / "reference"
ROOT = REF.parent.parent

#: Data sets with the full set of R blocks (fits, ICC/R2, ranef, ranova, comparisons);
#: phaa_clinics.json exists once ``tools/reference.R`` has been run on the course data.
DATASETS = ["sleepstudy", "dyestuff", "orthodont"] + (
    ["phaa_clinics"] if (REF / "phaa_clinics.json").exists() else []
)


@cache
def load_reference(name: str) -> dict:
    """The parsed ``tests/reference/<name>.json`` (shared: do not modify it)."""
    return json.loads((REF / f"{name}.json").read_text())


def _prepare(dataset: str, df: pd.DataFrame) -> pd.DataFrame:
    """Add the derived columns that tests/reference/README.md describes for phaa_clinics."""
    if dataset == "phaa_clinics":
        s = df["clinic_size"].astype(float)
        df["clinic_size_z"] = (s - s.mean()) / s.std()
        df["age_mean"] = df.groupby("clinic_id")["age"].transform("mean")
        df["age_within"] = df["age"] - df["age_mean"]
    return df


@cache
def _data(dataset: str) -> pd.DataFrame:
    return _prepare(dataset, pd.read_csv(ROOT / load_reference(dataset)["data_file"]))


def reference_data(dataset: str) -> pd.DataFrame:
    """A copy of the data set's CSV (``data_file`` in its JSON), with the derived columns."""
    return _data(dataset).copy()


def reference_model(dataset: str, name: str):
    """The unfitted statsmodels twin of reference model ``name`` (its ``python`` block)."""
    spec = load_reference(dataset)["models"][name]["python"]
    kw = {} if spec["re_formula"] == "1" else {"re_formula": spec["re_formula"]}
    return smf.mixedlm(spec["formula"], _data(dataset), groups=spec["groups"], **kw)


@cache
def tight_fit(dataset: str, name: str, reml: bool = True):
    """Reference model ``name`` fitted with :func:`lmmcourse.stats.fit_tight` (once a session)."""
    return fit_tight(reference_model(dataset, name), reml=reml)


def reference_cases(datasets=DATASETS, keep=None, slow=frozenset()):
    """``pytest.param(dataset, model, id="<dataset>-<model>")`` for every reference model.

    Parameters
    ----------
    datasets : list of str
        Reference files to take the models from, in this order.
    keep : callable, optional
        ``keep(model_record) -> bool``; models for which it is False are left out.
    slow : set of (dataset, model)
        Cases marked ``pytest.mark.slow``.
    """
    return [
        pytest.param(ds, m, id=f"{ds}-{m}",
                     marks=[pytest.mark.slow] if (ds, m) in slow else [])
        for ds in datasets
        for m, rec in load_reference(ds)["models"].items()
        if keep is None or keep(rec)
    ]


# ---------------------------------------------------------------------------------------------
# a fit with the between-cluster variance at zero (statsmodels issue 10239)
# ---------------------------------------------------------------------------------------------
def zero_variance_data() -> pd.DataFrame:
    """10 clusters x 5 with no cluster effect at all: the REML estimate of sigma2_u is 0."""
    rng = np.random.default_rng(0)
    d = pd.DataFrame({"g": np.repeat(np.arange(10), 5), "x": rng.normal(size=50),
                      "w": np.repeat(rng.normal(size=10), 5)})
    d["y"] = 1 + d["x"] + 0.5 * d["w"] + rng.normal(size=50)
    return d


def issue_10239_fit(d: pd.DataFrame):
    """``y ~ x + w`` on :func:`zero_variance_data`, started where statsmodels hits issue 10239.

    With ``cov_re / scale < 1e-10`` statsmodels zeroes the between-cluster fixed effects
    (here the intercept and ``w``) instead of returning the OLS fit.
    """
    md = smf.mixedlm("y ~ x + w", d, groups="g")
    start = MixedLMParams.from_components(fe_params=np.zeros(3), cov_re=np.array([[1e-12]]))
    free = MixedLMParams.from_components(fe_params=np.ones(3), cov_re=np.zeros((1, 1)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return md.fit(start_params=start, free=free, method=["lbfgs"])
