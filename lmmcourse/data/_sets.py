"""The lesson's data-set generators with their true values, validated loaders, and the small one-way
generators used for demonstrations. Seeds are in :data:`SEEDS`."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

from ._io import _Col, _load

#: Default seeds of every generator: the committed CSVs are exactly ``simulate_*(seed=<this>)``, and
#: ``negative_anova_example()`` uses ``SEEDS["negative_anova"]``.
SEEDS = {
    "classrooms": 4,
    "clinics": 754,
    "herds": 1997,
    "trial": 45,
    "costs": 1964,
    "negative_anova": 5,
}


# --------------------------------------------------------------------------------------------
# Classrooms: the interactive story
# --------------------------------------------------------------------------------------------
#: Truths of the classrooms data: one row per classroom.
CLASSROOM_TRUTH = pd.DataFrame(
    {
        "classroom": ["A", "B", "C", "D", "E"],
        "n": [18, 20, 5, 17, 16],
        "hours_mean": [4.0, 7.0, 9.5, 12.0, 15.0],
        "score_at_mean": [72.0, 66.0, 74.0, 55.0, 48.0],
        "slope": [1.0, 2.0, 5.5, 2.5, 3.5],
    }
)
CLASSROOM_SIGMA_E = 4.0
CLASSROOM_HOURS_HALFWIDTH = 3.0


def simulate_classrooms(seed: int = SEEDS["classrooms"]) -> pd.DataFrame:
    r"""Simulate the five-classroom data of the interactive story.

    Pupil :math:`i` in classroom :math:`j` studies ``hours`` :math:`x_{ij} \sim
    U(\bar x_j - 3, \bar x_j + 3)` and scores

    .. math:: y_{ij} = s_j + \beta_j (x_{ij} - \bar x_j) + e_{ij},
              \quad e_{ij} \sim N(0, 4^2),

    where classroom :math:`j` has mean hours :math:`\bar x_j`, score :math:`s_j` at its mean
    hours and slope :math:`\beta_j` (``CLASSROOM_TRUTH``). Classrooms that study more score
    lower on average, so a pooled regression that ignores classrooms finds a slope near zero or
    negative, although every within-classroom slope is positive (1 to 5.5 points per hour: the
    lines fan out). Classroom C has only 5 pupils and the steepest true slope, so partial pooling
    visibly pulls its line towards the average line.

    Parameters
    ----------
    seed : int
        Seed for :func:`numpy.random.default_rng`.

    Returns
    -------
    pandas.DataFrame
        Columns ``classroom`` ("A"-"E"), ``hours`` (study hours per week, 1 decimal) and
        ``score`` (test score in points, 0-100, 1 decimal); 76 rows.

    References
    ----------
    Gelman, A. & Hill, J. (2007). *Data Analysis Using Regression and Multilevel/Hierarchical
    Models*, ch. 12 (varying intercepts and slopes; partial pooling).
    """
    rng = np.random.default_rng(seed)
    t = CLASSROOM_TRUTH
    n = t["n"].to_numpy()
    cls = np.repeat(t["classroom"].to_numpy(), n)
    xbar = np.repeat(t["hours_mean"].to_numpy(), n)
    s = np.repeat(t["score_at_mean"].to_numpy(), n)
    b = np.repeat(t["slope"].to_numpy(), n)
    hours = np.round(rng.uniform(xbar - CLASSROOM_HOURS_HALFWIDTH,
                                 xbar + CLASSROOM_HOURS_HALFWIDTH), 1)
    score = s + b * (hours - xbar) + rng.normal(0.0, CLASSROOM_SIGMA_E, n.sum())
    score = np.round(np.clip(score, 0.0, 100.0), 1)
    return pd.DataFrame({"classroom": cls, "hours": hours, "score": score})


_CLASSROOM_SPEC = [
    _Col("classroom", "id"),
    _Col("hours", "float", low=0, high=168, what="0 to 168 hours per week"),
    _Col("score", "float", low=0, high=100, what="0 to 100 points"),
]


def load_classrooms(path: str | os.PathLike | None = None) -> pd.DataFrame:
    """Load and validate ``classrooms.csv``.

    Parameters
    ----------
    path : str or path-like, optional
        The CSV to read; by default found by :func:`data_path`.

    Returns
    -------
    pandas.DataFrame
        ``classroom`` (categorical, "A"-"E"), ``hours`` and ``score`` (float).

    Raises
    ------
    FileNotFoundError
        If the file cannot be found.
    ValueError
        If a column is missing, the file has no rows, or a value is non-numeric or impossible
        (hours outside 0-168, score outside 0-100); the message names file, column, row and value.
    """
    return _load("classrooms.csv", path, _CLASSROOM_SPEC, "classroom")


# --------------------------------------------------------------------------------------------
# PHAA clinics: the worked example
# --------------------------------------------------------------------------------------------
#: True parameter values of :func:`simulate_clinics` (mmHg, years, kg/m^2).
CLINIC_TRUTH = {
    "n_clinics": 30,
    "n_patients": 960,
    "intercept": 138.0,  # mean SBP of a rural, non-smoking man at the reference values
    "age_ref": 50.0,
    "bmi_ref": 28.0,
    "beta_age_within": 0.5,  # mmHg per year, patient's age relative to the clinic mean
    "beta_age_between": 1.2,  # mmHg per year of clinic mean age
    "beta_smoker": 5.0,
    "beta_bmi": 0.8,  # per kg/m^2, the same within and between clinics
    "beta_female": -4.0,
    "beta_urban": -5.0,
    "beta_size_sd": -2.5,  # per SD of clinic panel size (as in scale(clinic_size))
    "sigma2_u": 17.0,  # true between-clinic variance after all the covariates above
    "sigma2_e": 240.0,  # true residual variance
    "sigma2_smoker_slope": 0.0,  # the smoker effect does not vary between clinics
    "sd_clinic_age": 5.0,  # SD of clinic mean age
    "sd_age_within": 12.0,
    "sd_clinic_bmi": 2.0,
    "sd_bmi_within": 5.0,
    "p_urban": 0.5,
    "p_smoker": 0.2,
    "p_female": 0.55,
}


def _uniform_clusters(rng: np.random.Generator, k: int, m_min: int, m_max: int):
    """``k`` cluster sizes uniform on ``m_min``-``m_max`` and the cluster index (0..k-1) of each row."""
    m = rng.integers(m_min, m_max + 1, k)
    return m, np.repeat(np.arange(k), m)


def _clinic_sizes(rng: np.random.Generator, n_clinics: int, total: int) -> np.ndarray:
    """Unbalanced clinic sizes summing to ``total``: lognormal quantiles (smallest 6), shuffled."""
    w = np.exp(0.5 * _normal_quantiles(n_clinics))
    m = np.round(w / w.sum() * total).astype(int)
    m[np.argmin(m)] = 6
    m[np.argmax(m)] += total - m.sum()
    return rng.permutation(m)


def _normal_quantiles(k: int) -> np.ndarray:
    """The ``k`` standard normal quantiles at ``(i - 1/2)/k`` (mean 0, SD close to 1)."""
    from scipy.stats import norm

    return norm.ppf((np.arange(k) + 0.5) / k)


def _stratified_normal(rng: np.random.Generator, k: int, sd: float) -> np.ndarray:
    """``k`` normal draws stratified on the quantiles: the realised SD is exactly ``sd``."""
    z = _normal_quantiles(k)
    return rng.permutation(z / z.std(ddof=1) * sd)


def simulate_clinics(seed: int = SEEDS["clinics"]) -> pd.DataFrame:
    r"""Simulate the (synthetic) PHAA clinics data: systolic blood pressure of patients in clinics.

    Patient :math:`i` in clinic :math:`j`:

    .. math::

        \mathrm{sbp}_{ij} = \beta_0 + \beta_W (a_{ij} - \bar a_j) + \beta_B (\bar a_j - 50)
            + \beta_S\,\mathrm{smoker}_{ij} + \beta_M (\mathrm{bmi}_{ij} - 28)
            + \beta_F\,\mathrm{female}_{ij} + \beta_U\,\mathrm{urban}_j
            + \beta_Z z_j + u_j + e_{ij},

    with :math:`u_j \sim N(0, \sigma^2_u)`, :math:`e_{ij} \sim N(0, \sigma^2_e)`, :math:`\bar a_j`
    the clinic's mean age and :math:`z_j` its standardised panel size. The true values are in
    ``CLINIC_TRUTH``: :math:`\beta_W = 0.5` and :math:`\beta_B = 1.2` mmHg/year (a contextual
    effect of 0.7), :math:`\beta_S = 5`, :math:`\beta_M = 0.8`, :math:`\beta_F = -4`,
    :math:`\beta_U = -5`, :math:`\beta_Z = -2.5` mmHg, :math:`\sigma^2_u = 14`,
    :math:`\sigma^2_e = 240` mmHg², and no random slope for smoking. Clinic mean ages vary with
    SD 5 years, mean BMI with SD 2 kg/m², so a null model attributes about 18% of the SBP variance
    to clinics and the covariates explain about half of that.

    Parameters
    ----------
    seed : int
        Seed for :func:`numpy.random.default_rng`.

    Returns
    -------
    pandas.DataFrame
        Columns ``clinic_id`` ("C01"-"C30"), ``clinic_urban`` ("rural"/"urban"), ``clinic_size``
        (patients on the clinic's panel, integer), ``sbp`` (mmHg, 1 decimal), ``age`` (years,
        integer, 18-90), ``smoker`` ("No"/"Yes"), ``bmi`` (kg/m², 1 decimal, 16-55),
        ``female`` (0/1); 960 rows, 5 to about 65 patients per clinic.

    References
    ----------
    Snijders, T. A. B. & Bosker, R. J. (2012). *Multilevel Analysis*, 2nd ed., section 4.6
    (within- and between-group regressions, contextual effects).
    """
    t = CLINIC_TRUTH
    rng = np.random.default_rng(seed)
    k = t["n_clinics"]
    m = _clinic_sizes(rng, k, t["n_patients"])
    n = int(m.sum())
    g = np.repeat(np.arange(k), m)

    # clinic level
    urban = rng.permutation(np.arange(k) < round(t["p_urban"] * k)).astype(int)
    panel = np.round(np.exp(rng.normal(np.log(1500) + 0.9 * urban, 0.4)) / 10).astype(int) * 10
    z_size = (panel - panel.mean()) / panel.std(ddof=1)
    clinic_age = t["age_ref"] + _stratified_normal(rng, k, t["sd_clinic_age"])
    clinic_bmi = t["bmi_ref"] + _stratified_normal(rng, k, t["sd_clinic_bmi"])
    u = _stratified_normal(rng, k, np.sqrt(t["sigma2_u"]))

    # patient level
    age = np.clip(np.round(clinic_age[g] + rng.normal(0.0, t["sd_age_within"], n)), 18, 90)
    bmi = np.clip(np.round(clinic_bmi[g] + rng.normal(0.0, t["sd_bmi_within"], n), 1), 16, 55)
    smoker = (rng.random(n) < t["p_smoker"]).astype(int)
    female = (rng.random(n) < t["p_female"]).astype(int)
    e = rng.normal(0.0, np.sqrt(t["sigma2_e"]), n)

    age_mean = pd.Series(age).groupby(g).transform("mean").to_numpy()
    sbp = (
        t["intercept"]
        + t["beta_age_within"] * (age - age_mean)
        + t["beta_age_between"] * (age_mean - t["age_ref"])
        + t["beta_smoker"] * smoker
        + t["beta_bmi"] * (bmi - t["bmi_ref"])
        + t["beta_female"] * female
        + t["beta_urban"] * urban[g]
        + t["beta_size_sd"] * z_size[g]
        + u[g]
        + e
    )
    return pd.DataFrame(
        {
            "clinic_id": [f"C{j + 1:02d}" for j in g],
            "clinic_urban": np.where(urban[g] == 1, "urban", "rural"),
            "clinic_size": panel[g],
            "sbp": np.round(sbp, 1),
            "age": age.astype(int),
            "smoker": np.where(smoker == 1, "Yes", "No"),
            "bmi": bmi,
            "female": female,
        }
    )


_CLINIC_SPEC = [
    _Col("clinic_id", "id"),
    _Col("clinic_urban", "category", levels=("rural", "urban")),
    _Col("clinic_size", "int", low=0, low_open=True, what="a whole number of patients > 0"),
    _Col("sbp", "float", low=0, low_open=True, high=400, what="0 < sbp <= 400 mmHg"),
    _Col("age", "float", low=0, high=120, what="0 to 120 years"),
    _Col("smoker", "category", levels=("No", "Yes")),
    _Col("bmi", "float", low=0, low_open=True, high=150, what="0 < bmi <= 150 kg/m^2"),
    _Col("female", "int", low=0, high=1, what="0 or 1"),
]


def load_clinics(path: str | os.PathLike | None = None) -> pd.DataFrame:
    """Load and validate ``phaa_clinics.csv`` (synthetic; see ``data/README.md``).

    Parameters
    ----------
    path : str or path-like, optional
        The CSV to read; by default found by :func:`data_path`.

    Returns
    -------
    pandas.DataFrame
        ``clinic_id`` (categorical, the grouping factor), ``clinic_urban`` (categorical,
        categories ``["rural", "urban"]``, so rural is the reference level in a formula),
        ``clinic_size`` (int), ``sbp`` (float, mmHg), ``age`` (float, years), ``smoker``
        (categorical ``["No", "Yes"]``), ``bmi`` (float, kg/m²), ``female`` (int 0/1).
        The categoricals work directly in statsmodels formulas (no ``C()`` needed):
        ``smf.mixedlm("sbp ~ age + smoker", clinics, groups="clinic_id")``.

    Raises
    ------
    FileNotFoundError
        If the file cannot be found (the message lists where it looked).
    ValueError
        If the file is empty, a column is missing, or a value is non-numeric or impossible
        (sbp <= 0, age outside 0-120, smoker other than No/Yes, female other than 0/1, ...), or
        ``clinic_urban``/``clinic_size`` vary within a clinic. The message names the file, the
        column, the first offending data row (1-based, header excluded) and its value.
    """
    return _load("phaa_clinics.csv", path, _CLINIC_SPEC, "clinic_id",
                 cluster_level=("clinic_urban", "clinic_size"))


# --------------------------------------------------------------------------------------------
# Milk herds: the ICC example
# --------------------------------------------------------------------------------------------
#: True values of :func:`simulate_herds` (weekly milk yield per cow, kg/week).
HERD_TRUTH = {"n_herds": 50, "m_min": 5, "m_max": 60, "mu": 210.0, "sigma2_u": 200.0,
              "sigma2_e": 800.0}


def simulate_herds(seed: int = SEEDS["herds"]) -> pd.DataFrame:
    r"""Simulate weekly milk yields of cows in 50 dairy herds (one-way random-intercept model).

    .. math:: y_{ij} = \mu + u_j + e_{ij}, \quad u_j \sim N(0, \sigma^2_u),
              \quad e_{ij} \sim N(0, \sigma^2_e),

    with :math:`\mu = 210` kg/week (about 30 kg a day), :math:`\sigma^2_u = 200` and
    :math:`\sigma^2_e = 800` kg², so the true ICC is :math:`200/(200 + 800) = 0.20`. Herd sizes
    are drawn uniformly from 5 to 60 cows.

    Parameters
    ----------
    seed : int
        Seed for :func:`numpy.random.default_rng`.

    Returns
    -------
    pandas.DataFrame
        Columns ``herd_id`` ("H01"-"H50") and ``milk`` (kg/week, 1 decimal).

    References
    ----------
    Dohoo, I., Martin, W. & Stryhn, H. (2009). *Veterinary Epidemiologic Research*, 2nd ed.,
    ch. 21 (herd-level clustering and the ICC).
    """
    t = HERD_TRUTH
    rng = np.random.default_rng(seed)
    _, g = _uniform_clusters(rng, t["n_herds"], t["m_min"], t["m_max"])
    u = rng.normal(0.0, np.sqrt(t["sigma2_u"]), t["n_herds"])
    y = t["mu"] + u[g] + rng.normal(0.0, np.sqrt(t["sigma2_e"]), g.size)
    return pd.DataFrame({"herd_id": [f"H{j + 1:02d}" for j in g], "milk": np.round(y, 1)})


_HERD_SPEC = [
    _Col("herd_id", "id"),
    _Col("milk", "float", low=0, high=1000, what="0 to 1000 kg/week"),
]


def load_herds(path: str | os.PathLike | None = None) -> pd.DataFrame:
    """Load and validate ``milk_herds.csv``.

    Returns
    -------
    pandas.DataFrame
        ``herd_id`` (categorical) and ``milk`` (float, kg/week).

    Raises
    ------
    FileNotFoundError, ValueError
        As :func:`load_clinics` (milk must lie in 0-1000 kg/week).
    """
    return _load("milk_herds.csv", path, _HERD_SPEC, "herd_id")


# --------------------------------------------------------------------------------------------
# Multicentre trial: random slopes
# --------------------------------------------------------------------------------------------
#: True values of :func:`simulate_trial` (SBP reduction, mmHg).
TRIAL_TRUTH = {
    "n_hospitals": 30,
    "m_min": 16,
    "m_max": 60,
    "beta_0": 6.0,  # mean reduction on control
    "beta_treatment": 8.0,  # mean extra reduction on treatment
    "sd_u0": 3.0,  # SD of hospital intercepts
    "sd_u1": 5.0,  # SD of hospital treatment effects
    "corr_u": 0.3,
    "sigma_e": 9.0,
}


def simulate_trial(seed: int = SEEDS["trial"]) -> pd.DataFrame:
    r"""Simulate a multicentre trial in which the treatment effect varies between hospitals.

    Patient :math:`i` in hospital :math:`j`, randomised 1:1 within hospital to
    :math:`x_{ij} \in \{0, 1\}`:

    .. math:: y_{ij} = (\beta_0 + u_{0j}) + (\beta_1 + u_{1j}) x_{ij} + e_{ij},

    with :math:`(u_{0j}, u_{1j})` bivariate normal (SDs 3 and 5 mmHg, correlation 0.3),
    :math:`e_{ij} \sim N(0, 9^2)`, :math:`\beta_0 = 6` and :math:`\beta_1 = 8` mmHg. Hospital
    sizes are uniform on 16-60 patients.

    Parameters
    ----------
    seed : int
        Seed for :func:`numpy.random.default_rng`.

    Returns
    -------
    pandas.DataFrame
        Columns ``hospital_id`` ("S01"-"S30"), ``treatment`` (0 = control, 1 = active) and
        ``sbp_reduction`` (fall in systolic blood pressure from baseline, mmHg, 1 decimal;
        negative means it rose).

    References
    ----------
    Brown, H. & Prescott, R. (2015). *Applied Mixed Models in Medicine*, 3rd ed., ch. 5
    (multicentre trials, centre-by-treatment random effects).
    """
    t = TRIAL_TRUTH
    rng = np.random.default_rng(seed)
    k = t["n_hospitals"]
    m, g = _uniform_clusters(rng, k, t["m_min"], t["m_max"])
    # balanced randomisation within each hospital (random order of a half-and-half list)
    treat = np.concatenate([rng.permutation(np.arange(mj) % 2) for mj in m])
    s0, s1, r = t["sd_u0"], t["sd_u1"], t["corr_u"]
    cov = np.array([[s0**2, r * s0 * s1], [r * s0 * s1, s1**2]])
    u = rng.multivariate_normal([0.0, 0.0], cov, k, method="cholesky")
    y = (t["beta_0"] + u[g, 0] + (t["beta_treatment"] + u[g, 1]) * treat
         + rng.normal(0.0, t["sigma_e"], g.size))
    return pd.DataFrame(
        {"hospital_id": [f"S{j + 1:02d}" for j in g], "treatment": treat,
         "sbp_reduction": np.round(y, 1)}
    )


_TRIAL_SPEC = [
    _Col("hospital_id", "id"),
    _Col("treatment", "int", low=0, high=1, what="0 or 1"),
    _Col("sbp_reduction", "float", low=-200, high=200, what="-200 to 200 mmHg"),
]


def load_trial(path: str | os.PathLike | None = None) -> pd.DataFrame:
    """Load and validate ``multicentre_trial.csv``.

    Returns
    -------
    pandas.DataFrame
        ``hospital_id`` (categorical), ``treatment`` (int 0/1), ``sbp_reduction`` (float, mmHg).

    Raises
    ------
    FileNotFoundError, ValueError
        As :func:`load_clinics`.
    """
    return _load("multicentre_trial.csv", path, _TRIAL_SPEC, "hospital_id")


# --------------------------------------------------------------------------------------------
# Hospital costs: Box-Cox
# --------------------------------------------------------------------------------------------
#: True values of :func:`simulate_costs` (on the log scale of cost in thousand dollars).
COST_TRUTH = {
    "n_hospitals": 40,
    "m_min": 10,
    "m_max": 60,
    "log_intercept": np.log(8.0),  # median cost of a 60-year-old with a 5-day stay: $8,000
    "beta_age": 0.006,  # per year
    "beta_los": 0.09,  # per day
    "sigma2_u": 0.09,
    "sigma2_e": 0.25,
}


def simulate_costs(seed: int = SEEDS["costs"]) -> pd.DataFrame:
    r"""Simulate right-skewed hospital costs: a random-intercept model on the log scale.

    .. math:: \log(\mathrm{cost}_{ij}) = \beta_0 + \beta_A (\mathrm{age}_{ij} - 60)
              + \beta_L (\mathrm{los}_{ij} - 5) + u_j + e_{ij},

    with :math:`\beta_0 = \log 8`, :math:`\beta_A = 0.006` per year, :math:`\beta_L = 0.09`
    per day, :math:`u_j \sim N(0, 0.09)`, :math:`e_{ij} \sim N(0, 0.25)`. Costs are lognormal
    given the covariates, so the Box-Cox profile likelihood of the mixed model peaks near
    :math:`\lambda = 0` (the log). Age is uniform-ish 18-95; length of stay is 1 + Poisson(4)
    days, capped at 30.

    Parameters
    ----------
    seed : int
        Seed for :func:`numpy.random.default_rng`.

    Returns
    -------
    pandas.DataFrame
        Columns ``hospital_id`` ("P01"-"P40"), ``cost`` (thousand dollars, 2 decimals),
        ``age`` (years, integer) and ``los`` (length of stay, days, integer).

    References
    ----------
    Box, G. E. P. & Cox, D. R. (1964). An analysis of transformations. *JRSS B* 26, 211-252.
    Gurka, M. J. et al. (2006). Extending the Box-Cox transformation to the linear mixed model.
    *JRSS A* 169, 273-288.
    """
    t = COST_TRUTH
    rng = np.random.default_rng(seed)
    k = t["n_hospitals"]
    _, g = _uniform_clusters(rng, k, t["m_min"], t["m_max"])
    n = g.size
    age = np.clip(np.round(rng.normal(62.0, 15.0, n)), 18, 95).astype(int)
    los = np.minimum(1 + rng.poisson(4.0, n), 30)
    u = rng.normal(0.0, np.sqrt(t["sigma2_u"]), k)
    logc = (t["log_intercept"] + t["beta_age"] * (age - 60) + t["beta_los"] * (los - 5)
            + u[g] + rng.normal(0.0, np.sqrt(t["sigma2_e"]), n))
    return pd.DataFrame(
        {"hospital_id": [f"P{j + 1:02d}" for j in g], "cost": np.round(np.exp(logc), 2),
         "age": age, "los": los}
    )


_COST_SPEC = [
    _Col("hospital_id", "id"),
    _Col("cost", "float", low=0, low_open=True, what="> 0 thousand dollars"),
    _Col("age", "float", low=0, high=120, what="0 to 120 years"),
    _Col("los", "int", low=0, high=365, what="a whole number of days, 0 to 365"),
]


def load_costs(path: str | os.PathLike | None = None) -> pd.DataFrame:
    """Load and validate ``hospital_costs.csv``.

    Returns
    -------
    pandas.DataFrame
        ``hospital_id`` (categorical), ``cost`` (float, thousand dollars, > 0), ``age`` (float,
        years), ``los`` (int, days).

    Raises
    ------
    FileNotFoundError, ValueError
        As :func:`load_clinics`.
    """
    return _load("hospital_costs.csv", path, _COST_SPEC, "hospital_id")


# --------------------------------------------------------------------------------------------
# Regeneration
# --------------------------------------------------------------------------------------------
# Small generic generators (the one-way model) and the negative-ANOVA example
# --------------------------------------------------------------------------------------------
def _sizes(n_groups: int, m) -> np.ndarray:
    """Cluster sizes as an int array of length ``n_groups`` (``m`` an int or a sequence)."""
    if n_groups < 2 or int(n_groups) != n_groups:
        raise ValueError(f"n_groups must be an integer >= 2, got {n_groups!r}")
    sizes = np.asarray(m)
    if sizes.ndim == 0:
        sizes = np.full(int(n_groups), sizes)
    if sizes.shape != (n_groups,):
        raise ValueError(
            f"m must be one cluster size or {n_groups} sizes (one per group); got shape "
            f"{sizes.shape}"
        )
    if np.any(sizes < 1) or np.any(sizes != np.round(sizes)):
        raise ValueError(f"cluster sizes must be whole numbers >= 1, got {sizes.tolist()}")
    return sizes.astype(int)


def _check_var(name: str, value: float) -> float:
    if not np.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite variance >= 0, got {value!r}")
    return float(value)


def one_way(n_groups: int, m, sigma2_u: float, sigma2_e: float, mu: float = 0.0, *,
            seed) -> pd.DataFrame:
    r"""Simulate one data set from the one-way random-intercept model.

    .. math:: y_{ij} = \mu + u_j + e_{ij}, \quad u_j \sim N(0, \sigma^2_u),
              \quad e_{ij} \sim N(0, \sigma^2_e).

    Parameters
    ----------
    n_groups : int
        Number of clusters (at least 2).
    m : int or array_like of int
        Cluster size, or one size per cluster (unbalanced design).
    sigma2_u, sigma2_e : float
        Between-cluster and residual variances (>= 0).
    mu : float, default 0
        Overall mean.
    seed : int or numpy.random.Generator
        Seed (keyword only, required).

    Returns
    -------
    pandas.DataFrame
        Columns ``group`` (int, 0 to ``n_groups - 1``) and ``y``, one row per observation,
        sorted by group.

    References
    ----------
    Searle, Casella & McCulloch (1992), *Variance Components*, section 3.1.
    """
    sizes = _sizes(n_groups, m)
    rng = np.random.default_rng(seed)
    su = np.sqrt(_check_var("sigma2_u", sigma2_u))
    se = np.sqrt(_check_var("sigma2_e", sigma2_e))
    g = np.repeat(np.arange(n_groups), sizes)
    u = rng.normal(0.0, su, n_groups)
    y = mu + u[g] + rng.normal(0.0, se, g.size)
    return pd.DataFrame({"group": g, "y": y})


#: True values of :func:`negative_anova_example`: no clustering at all.
NEGATIVE_ANOVA_TRUTH = {"sizes": (2, 3, 4, 5), "mu": 10.0, "sigma2_u": 0.0, "sigma2_e": 1.0}




def negative_anova_example(seed: int = SEEDS["negative_anova"]) -> pd.DataFrame:
    r"""A tiny unbalanced one-way data set whose ANOVA estimate of :math:`\sigma^2_u` is negative.

    Four groups of sizes 2, 3, 4 and 5 are drawn with :math:`\sigma^2_u = 0`,
    :math:`\sigma^2_e = 1`, :math:`\mu = 10`. With the default seed (``SEEDS["negative_anova"]``) the
    between-group mean square is smaller than the within-group one, so the method-of-moments
    estimate

    .. math:: \hat\sigma^2_u = \frac{MSB - MSW}{n_0}, \qquad
              n_0 = \frac{N - \sum_j m_j^2 / N}{k - 1},

    is negative, an impossible variance; ML and REML estimates are 0 on the boundary instead.
    Other seeds need not give a negative estimate.

    Parameters
    ----------
    seed : int, default ``SEEDS["negative_anova"]``
        Seed.

    Returns
    -------
    pandas.DataFrame
        Columns ``group`` (int 0-3) and ``y`` (rounded to 2 decimals); 14 rows.

    References
    ----------
    Searle, Casella & McCulloch (1992), *Variance Components*, section 3.5 (negative
    estimates) and equation (3.21) for :math:`n_0`.
    """
    t = NEGATIVE_ANOVA_TRUTH
    sizes = list(t["sizes"])
    df = one_way(len(sizes), sizes, t["sigma2_u"], t["sigma2_e"], mu=t["mu"], seed=seed)
    df["y"] = df["y"].round(2)
    return df
