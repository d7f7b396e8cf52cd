"""Hausman and Mundlak tests against R.

Reference values were computed in R 4.2.2 / lme4 1.1-31 on an unbalanced subset of sleepstudy
(``tests/reference/data/sleepstudy.csv``), with this code::

    d <- read.csv("tests/reference/data/sleepstudy.csv")
    r <- as.integer(factor(d$Subject)); d <- d[d$Days < 3 + (r %% 7), ]       # 106 rows
    fe <- lm(Reaction ~ Days + factor(Subject), d)
    re <- lmer(Reaction ~ Days + (1 | Subject), d)                           # REML
    b <- coef(fe)["Days"] - fixef(re)["Days"]
    H <- b^2 / (vcov(fe)["Days", "Days"] - vcov(re)["Days", "Days"])         # 0.2656213
    pchisq(H, 1, lower.tail = FALSE)                                         # 0.6062843
    d$mean_Days <- ave(d$Days, d$Subject)
    m <- lmer(Reaction ~ Days + mean_Days + (1 | Subject), d)
    W <- fixef(m)["mean_Days"]^2 / vcov(m)["mean_Days", "mean_Days"]         # 0.2662959
    pchisq(W, 1, lower.tail = FALSE)                                         # 0.6058274
"""

from pathlib import Path

import pandas as pd
import pytest
import statsmodels.formula.api as smf

from lmmcourse.stats import fit_tight, hausman, mundlak_test

DATA = Path(__file__).resolve().parent / "reference" / "data"


def _unbalanced():
    d = pd.read_csv(DATA / "sleepstudy.csv")
    rank = d["Subject"].rank(method="dense").astype(int)
    return d[d["Days"] < 3 + (rank % 7)].reset_index(drop=True)


def test_hausman_matches_r():
    d = _unbalanced()
    assert len(d) == 106
    fe = smf.ols("Reaction ~ Days + C(Subject)", d).fit()
    re = fit_tight(smf.mixedlm("Reaction ~ Days", d, groups="Subject"))
    out = hausman(fe, re)
    assert set(out) == {"statistic", "df", "p_value"}
    assert out["statistic"] == pytest.approx(0.2656213, rel=1e-4)
    assert out["df"] == 1
    assert out["p_value"] == pytest.approx(0.6062843, abs=1e-4)


def test_mundlak_matches_r():
    out = mundlak_test("Reaction ~ Days", _unbalanced(), "Subject", ["Days"])
    assert set(out) == {"statistic", "df", "p_value"}
    assert out["statistic"] == pytest.approx(0.2662959, rel=1e-4)
    assert out["df"] == 1
    assert out["p_value"] == pytest.approx(0.6058274, abs=1e-4)


def test_hausman_bad_input():
    d = _unbalanced()
    re = fit_tight(smf.mixedlm("Reaction ~ Days", d, groups="Subject"))
    with pytest.raises(TypeError, match="OLS"):
        hausman(re, re)
    fe_other = smf.ols("Reaction ~ Days + C(Subject)", d.iloc[:80]).fit()
    with pytest.raises(ValueError, match="different rows"):
        hausman(fe_other, re)
    # only the intercept in common: nothing that varies within clusters
    fe_int = smf.ols("Reaction ~ C(Subject)", d).fit()
    with pytest.raises(ValueError, match="within clusters"):
        hausman(fe_int, re)


def test_mundlak_bad_input():
    full = pd.read_csv(DATA / "sleepstudy.csv")   # balanced: every subject has Days 0..9
    with pytest.raises(ValueError, match="balanced"):
        mundlak_test("Reaction ~ Days", full, "Subject", ["Days"])
    with pytest.raises(ValueError, match="not a column"):
        mundlak_test("Reaction ~ Days", full, "Subject", ["days"])
    d = _unbalanced().assign(level=lambda x: x["Subject"] % 3)
    with pytest.raises(ValueError, match="constant within every cluster"):
        mundlak_test("Reaction ~ Days", d, "Subject", ["level"])


def test_hausman_balanced_is_zero_not_nan():
    # Full sleepstudy: every subject has Days 0..9, so each cluster mean of Days is 4.5 and the
    # random-intercept estimate of the Days slope is the within (LSDV) estimate itself, with the
    # same variance sigma^2 / sum (x - xbar_g)^2: by hand H = 0 on 1 df, p = 1.
    full = pd.read_csv(DATA / "sleepstudy.csv")
    fe = smf.ols("Reaction ~ Days + C(Subject)", full).fit()
    re = fit_tight(smf.mixedlm("Reaction ~ Days", full, groups="Subject"))
    with pytest.warns(UserWarning, match="coincide"):
        out = hausman(fe, re)
    assert out == {"statistic": 0.0, "df": 1, "p_value": 1.0}


def test_mundlak_missing_values_named():
    d = _unbalanced()
    d.loc[[3, 40], "Days"] = float("nan")
    with pytest.raises(ValueError, match=r"2 missing value\(s\) \(rows 3, 40") as err:
        mundlak_test("Reaction ~ Days", d, "Subject", ["Days"])
    assert "constant" not in str(err.value)
    assert "dropna" in str(err.value)
