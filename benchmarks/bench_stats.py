"""Speed of the small-sample inference core (lmmcourse.stats._ddf).

Rows: the clinics model m2's own REML fit, its Satterthwaite table, their ratio (target <= 1), and
Kenward-Roger on the 1,600-row, 40-cluster benchmark data (pbkrtest: about 0.7 s for the random
intercept model and 1.2 s with a random slope). Times are the best of a few repeats.

The fit rows time :func:`lmmcourse.stats.fit_tight` on three random-slope models (ChickWeight,
mlmRev's Exam and Hsb82) and divide its median time by lme4::lmer's, recorded by
``Rscript tools/bench_lmer.R`` in ``benchmarks/r_timings.json`` (R is not needed here). Each row
also checks that the optimum is lme4's (logLik within 1e-6); the target is a median ratio <= 3.
"""

import json
import statistics
import time
import warnings
from pathlib import Path

import pandas as pd
import statsmodels.formula.api as smf

from lmmcourse.stats._ddf import kenward_roger, satterthwaite

ROOT = Path(__file__).resolve().parent.parent
KR_DATA = ROOT / "tests" / "reference" / "data" / "kr_bench.csv"
M2 = "sbp ~ age + smoker + bmi + female + clinic_urban + clinic_size_z"
REPEATS = 5


def _best(func, repeats=REPEATS):
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = func()
        best = min(best, time.perf_counter() - t0)
    return best, out


def _clinics():
    from lmmcourse import data

    try:
        df = data.load_clinics()
    except (FileNotFoundError, ValueError):
        df = data.simulate_clinics()
    s = df["clinic_size"].astype(float)
    return df.assign(clinic_size_z=(s - s.mean()) / s.std())


_CACHE = {}


def _m2_times():
    if "m2" not in _CACHE:
        model = smf.mixedlm(M2, _clinics(), groups="clinic_id")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t_fit, res = _best(lambda: model.fit(reml=True))
            t_sat, _ = _best(lambda: satterthwaite(res))
        _CACHE["m2"] = (t_fit, t_sat)
    return _CACHE["m2"]


def bench_m2_fit():
    t_fit, _ = _m2_times()
    return {"name": "m2 REML fit (statsmodels)", "value": t_fit, "unit": "s", "target": "-"}


def bench_m2_satterthwaite():
    _, t_sat = _m2_times()
    return {"name": "m2 satterthwaite table", "value": t_sat, "unit": "s", "target": "-"}


def bench_m2_satterthwaite_ratio():
    t_fit, t_sat = _m2_times()
    return {"name": "m2 satterthwaite / fit time", "value": t_sat / t_fit, "unit": "ratio",
            "target": "<= 1"}


def _kr(re_formula, label, target):
    df = pd.read_csv(KR_DATA)
    kw = {} if re_formula is None else {"re_formula": re_formula}
    model = smf.mixedlm("y ~ x + z", df, groups="g", **kw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = model.fit(reml=True, method=["lbfgs"])
        t, _ = _best(lambda: kenward_roger(res))
    return {"name": f"kenward_roger, 1600 rows x 40 clusters, {label}", "value": t, "unit": "s",
            "target": target}


def bench_kr_intercept():
    return _kr(None, "random intercept", "<= 0.7")


def bench_kr_slope():
    return _kr("~x", "random slope", "<= 1.2")


# --------------------------------------------------------------------------------------------
# fit_tight against lme4::lmer
# --------------------------------------------------------------------------------------------
R_TIMINGS = ROOT / "benchmarks" / "r_timings.json"
FIT_MODELS = {
    "chickweight": ("ChickWeight.csv", "weight ~ Time", "Chick", "~Time"),
    "exam": ("Exam.csv", "normexam ~ standLRT", "school", "~standLRT"),
    "hsb82": ("Hsb82.csv", "mAch ~ cses", "school", "~cses"),
}
FIT_REPEATS = 11


def _fit_ratio(name):
    from lmmcourse.stats import fit_tight

    key = ("fit", name)
    if key not in _CACHE:
        r = json.loads(R_TIMINGS.read_text())["models"][name]
        csv, formula, groups, re_formula = FIT_MODELS[name]
        df = pd.read_csv(ROOT / "tests" / "reference" / "data" / csv)
        model = smf.mixedlm(formula, df, groups=groups, re_formula=re_formula)
        times, res = [], None
        fit_tight(model)  # warm-up
        for _ in range(FIT_REPEATS):
            t0 = time.perf_counter()
            res = fit_tight(model)
            times.append(time.perf_counter() - t0)
        same = abs(res.llf - r["logLik"]) < 1e-6
        _CACHE[key] = (statistics.median(times) / r["median_s"], same, r["n_obs"])
    return _CACHE[key]


def _fit_row(name):
    ratio, same, n = _fit_ratio(name)
    flag = "" if same else " (DIFFERENT OPTIMUM)"
    return {"name": f"fit_tight / lmer time, {name} ({n} rows){flag}", "value": ratio,
            "unit": "ratio", "target": "<= 3"}


def bench_fit_chickweight():
    return _fit_row("chickweight")


def bench_fit_exam():
    return _fit_row("exam")


def bench_fit_hsb82():
    return _fit_row("hsb82")


def bench_fit_median_ratio():
    ratios = [_fit_ratio(name)[0] for name in FIT_MODELS]
    return {"name": "fit_tight / lmer time, median of the three", "value": statistics.median(ratios),
            "unit": "ratio", "target": "<= 3"}
