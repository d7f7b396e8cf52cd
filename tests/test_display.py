"""R-style display of the statistics tables (``lmmcourse.stats._display``).

References are R's own printed output, saved by ``tools/reference_round2_infer.R`` in
``tests/reference/round2_infer.json`` (``display`` block): ``format.pval`` on a vector of
p-values, lmerTest's ``printCoefmat`` of ``summary(m)`` for sleepstudy, ``ranova``, lme4's
``anova(m0, m1)`` and ``confint``. The tables keep their data: indexing and values are those of
the plain pandas objects.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf

from lmmcourse import stats
from lmmcourse.stats._display import (
    LmerResult,
    LmerTable,
    format_pval,
    format_r,
    lmer_frame,
    signif_stars,
)

REF = Path(__file__).resolve().parent / "reference"


@cache
def _disp() -> dict:
    return json.loads((REF / "round2_infer.json").read_text())["display"]


@cache
def _sleep():
    d = pd.read_csv(REF / "data" / "sleepstudy.csv")
    slope = stats.fit_tight(smf.mixedlm("Reaction ~ Days", d, groups="Subject",
                                        re_formula="~Days"))
    intercept = stats.fit_tight(smf.mixedlm("Reaction ~ Days", d, groups="Subject"))
    return intercept, slope


def _squash(line: str) -> str:
    return re.sub(r"\s+", " ", line).strip()


def test_format_pval_vector_matches_r():
    ref = _disp()
    got = format_pval(ref["format_pval_input"], digits=3)
    assert [g.strip() for g in got] == [s.strip() for s in ref["format_pval_digits3_eps"]]


def test_format_pval_scalar_matches_r():
    ref = _disp()
    got = [format_pval(p, digits=3) for p in ref["format_pval_input"]]
    assert got == ref["format_pval_single"]


def test_format_r_matches_r_confint_print():
    # R prints the confint matrix column by column with 7 significant digits
    lines = _disp()["confint_sleepstudy_slope"][1:]
    cells = [line.split()[-2:] for line in lines]
    for col in range(2):
        values = [float(c[col]) for c in cells]
        assert [s.strip() for s in format_r(values, 7)] == [c[col] for c in cells]


def test_coefficient_table_matches_printcoefmat():
    _, slope = _sleep()
    tab = stats.satterthwaite(slope)
    assert isinstance(tab, LmerTable) and isinstance(tab, pd.DataFrame)
    text = repr(tab).splitlines()
    ref = _disp()["printCoefmat_sleepstudy_slope"]
    for r_line, label in ((ref[1], "Intercept"), (ref[2], "Days")):
        r_cells = _squash(r_line.split(")", 1)[1] if r_line.startswith("(") else
                          r_line.split(None, 1)[1])
        mine = next(line for line in text if line.startswith(label))
        assert _squash(mine[len(label):]) == r_cells
    assert ref[-1].replace("‘", "'").replace("’", "'") in text


def test_ranova_and_compare_show_r_numbers():
    intercept, slope = _sleep()
    ran = repr(stats.ranova(slope))
    r_row = _disp()["ranova_sleepstudy_slope"][-3]           # the "Days in ..." line
    for token in ("-893.23", "42.837", "4.99e-10", "-871.81"):
        assert token in r_row or token in _disp()["ranova_sleepstudy_slope"][-4]
        assert token in ran
    cmp = stats.compare(intercept, slope)
    text = repr(cmp)
    r_lines = " ".join(_disp()["anova_ml_compare"])
    for token in ("-897.04", "-875.97", "1802.1", "1763.9", "1751.9", "42.139", "7.072e-10"):
        assert token in r_lines and token in text


def test_values_and_indexing_unchanged():
    _, slope = _sleep()
    tab = stats.satterthwaite(slope)
    plain = pd.DataFrame(tab)
    assert type(plain) is pd.DataFrame
    assert tab.loc["Days", "df"] == plain.loc["Days", "df"]
    assert tab["p_value"].dtype == float
    sub = tab.loc[["Days"]]
    assert isinstance(sub, LmerTable) and "3.26e-06" in repr(sub)
    assert tab.to_string(float_format="{:.2f}".format) == plain.to_string(
        float_format="{:.2f}".format)
    html = tab._repr_html_()
    assert "&lt; 2e-16" in html and "3.26e-06" in html and "<table" in html


def test_dict_results_stay_dicts():
    intercept, slope = _sleep()
    cmp = stats.compare(intercept, slope)
    assert isinstance(cmp, dict) and isinstance(cmp, LmerResult)
    assert set(cmp) >= {"chisq", "df", "p_value", "note"}
    assert dict(cmp) == cmp
    f = stats.satterthwaite_f(slope, [0, 1])
    assert f["num_df"] == 1 and "45.853" in repr(f)      # lmerTest: F value 45.853
    assert "3.264e-06" in repr(f)                         # lmerTest: Pr(>F) 3.264e-06
    assert "<table" in f._repr_html_()


def test_stars_and_na():
    assert [signif_stars(p) for p in (0.0005, 0.005, 0.02, 0.07, 0.5, np.nan)] == [
        "***", "**", "*", ".", " ", ""]
    frame = pd.DataFrame({"2.5 %": [np.nan, 1.0], "97.5 %": [2.0, 3.0]}, index=["a", "b"])
    assert "NA" in repr(lmer_frame(frame))


def test_wrapped_warning_points_at_caller():
    d = pd.read_csv(REF / "data" / "sleepstudy.csv")
    with pytest.warns(UserWarning, match="grid") as rec:
        stats.boxcox("Reaction ~ Days", d, groups="Subject", lambdas=[0.5, 0.75, 1.0])
    assert any(Path(w.filename).name == "test_display.py" for w in rec)
