"""Design effect and the estimator table (``stats.design_effect``, ``stats.estimator_table``).

Checks are worked by hand on a 12-row data set (4 clusters of 3) with numpy formulas that do not
use the code under test, plus lme4's REML fit of sleepstudy from ``tests/reference/sleepstudy.json``
(written by ``tools/reference.R``) for the mixed-model row.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lmmcourse import stats

REF = Path(__file__).resolve().parent / "reference"

TINY = pd.DataFrame({
    "g": np.repeat(["a", "b", "c", "d"], 3),
    "x": [1.0, 2.0, 4.0, 0.0, 3.0, 2.0, 5.0, 1.0, 2.0, 2.0, 4.0, 6.0],
    "z": np.repeat([0.0, 0.0, 1.0, 1.0], 3),
    "y": [3.1, 4.0, 6.2, 2.5, 5.9, 4.1, 9.0, 4.8, 6.1, 6.0, 8.3, 9.9],
})


def test_design_effect_by_hand():
    out = stats.design_effect(20, 0.05, n_clusters=10)
    assert out["design_effect"] == pytest.approx(1 + 19 * 0.05)
    assert out["effective_n"] == pytest.approx(200 / 1.95)
    sizes = [5, 15]
    assert stats.design_effect(sizes, 0.1)["design_effect"] == pytest.approx(1.9)
    # size-weighted mean (25 + 225) / 20 = 12.5; Eldridge: cv = 5/10, (1.25 * 10 - 1) * 0.1 + 1
    w = stats.design_effect(sizes, 0.1, method="weighted")
    assert w["design_effect"] == pytest.approx(2.15)
    assert w["cluster_size"] == pytest.approx(12.5) and w["n"] == 20
    assert np.isnan(stats.design_effect(8, 0.2)["n"])


def test_design_effect_errors():
    with pytest.raises(ValueError, match="icc"):
        stats.design_effect(10, 1.5)
    with pytest.raises(ValueError, match="at least 1"):
        stats.design_effect([0, 3], 0.1)
    with pytest.raises(ValueError, match="method"):
        stats.design_effect([2, 3], 0.1, method="median")


def _ols_by_hand(X, y):
    xtx_inv = np.linalg.inv(X.T @ X)
    b = xtx_inv @ X.T @ y
    e = y - X @ b
    n, k = X.shape
    s2 = e @ e / (n - k)
    return b, np.sqrt(np.diag(s2 * xtx_inv)), e, xtx_inv


def test_within_covariate_by_hand():
    tab = stats.estimator_table(TINY, "y ~ x", "g", "x")
    assert list(tab.index) == ["OLS", "OLS, cluster-robust SE", "GEE (exchangeable)",
                               "Fixed effects (within)", "Mixed model (REML)"]
    y = TINY["y"].to_numpy()
    X = np.column_stack([np.ones(12), TINY["x"]])
    b, se, e, xtx_inv = _ols_by_hand(X, y)
    assert tab.loc["OLS", "estimate"] == pytest.approx(b[1], rel=1e-10)
    assert tab.loc["OLS", "std_error"] == pytest.approx(se[1], rel=1e-10)
    # CR1: sandwich with G/(G-1) * (N-1)/(N-K)
    meat = sum(np.outer(X[i:i + 3].T @ e[i:i + 3], X[i:i + 3].T @ e[i:i + 3])
               for i in range(0, 12, 3))
    cr1 = xtx_inv @ meat @ xtx_inv * (4 / 3) * (11 / 10)
    assert tab.loc["OLS, cluster-robust SE", "std_error"] == pytest.approx(
        np.sqrt(cr1[1, 1]), rel=1e-10)
    # within estimator: demean by cluster; s^2 on N - G - 1 df
    xc = TINY["x"] - TINY.groupby("g")["x"].transform("mean")
    yc = TINY["y"] - TINY.groupby("g")["y"].transform("mean")
    bw = float(xc @ yc / (xc @ xc))
    rss = float(((yc - bw * xc) ** 2).sum())
    assert tab.loc["Fixed effects (within)", "estimate"] == pytest.approx(bw, rel=1e-10)
    assert tab.loc["Fixed effects (within)", "std_error"] == pytest.approx(
        np.sqrt(rss / (12 - 4 - 1) / float(xc @ xc)), rel=1e-10)
    assert tab.attrs["n_clusters"] == 4 and tab.attrs["n_obs"] == 12


def test_cluster_level_covariate_by_hand():
    tab = stats.estimator_table(TINY, "y ~ z", "g", "z")
    fe = tab.loc["Fixed effects (within)"]
    assert np.isnan(fe["estimate"]) and np.isnan(fe["std_error"])
    assert "constant within clusters" in fe["note"]
    # balanced clusters and a cluster-level covariate: GLS with any exchangeable correlation
    # is OLS, so GEE's estimate is the difference of the group means, and its robust SE is the
    # CR0 sandwich (no small-sample factor)
    y = TINY["y"].to_numpy()
    X = np.column_stack([np.ones(12), TINY["z"]])
    b, _, e, xtx_inv = _ols_by_hand(X, y)
    assert b[1] == pytest.approx(y[6:].mean() - y[:6].mean())
    assert tab.loc["GEE (exchangeable)", "estimate"] == pytest.approx(b[1], rel=1e-8)
    meat = sum(np.outer(X[i:i + 3].T @ e[i:i + 3], X[i:i + 3].T @ e[i:i + 3])
               for i in range(0, 12, 3))
    cr0 = xtx_inv @ meat @ xtx_inv
    assert tab.loc["GEE (exchangeable)", "std_error"] == pytest.approx(np.sqrt(cr0[1, 1]),
                                                                      rel=1e-6)
    assert tab.loc["Mixed model (REML)", "estimate"] == pytest.approx(b[1], rel=1e-8)


def test_mixed_row_matches_lme4_sleepstudy():
    ref = json.loads((REF / "sleepstudy.json").read_text())
    row = next(r for r in ref["models"]["m_int"]["satterthwaite"] if r["term"] == "Days")
    data = pd.read_csv(REF / "data" / "sleepstudy.csv")
    tab = stats.estimator_table(data, "Reaction ~ Days", "Subject", "Days")
    assert tab.loc["Mixed model (REML)", "estimate"] == pytest.approx(row["estimate"], rel=1e-8)
    assert tab.loc["Mixed model (REML)", "std_error"] == pytest.approx(row["std_error"],
                                                                      rel=1e-5)
    # balanced design: the within estimate equals the mixed-model one
    assert tab.loc["Fixed effects (within)", "estimate"] == pytest.approx(row["estimate"],
                                                                          rel=1e-10)
    assert "Coefficient of Days" in repr(tab)


def test_term_errors_and_categorical_shortcut():
    with pytest.raises(KeyError, match="coefficients are"):
        stats.estimator_table(TINY, "y ~ x", "g", "w")
    with pytest.raises(ValueError, match="not a column"):
        stats.estimator_table(TINY, "y ~ x", "cluster", "x")
    d = TINY.assign(urban=np.where(TINY["z"] > 0, "yes", "no"))
    tab = stats.estimator_table(d, "y ~ urban", "g", "urban")
    assert tab.attrs["term"] == "urban[T.yes]"
