"""Speed of the small-sample inference core (lmmcourse.stats._ddf).

Rows: the clinics model m2's own REML fit, its Satterthwaite table, their ratio (target <= 1), and
Kenward-Roger on the 1,600-row, 40-cluster benchmark data (pbkrtest: about 0.7 s for the random
intercept model and 1.2 s with a random slope). Times are the best of a few repeats.
"""

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
