"""Tests for lmmcourse.data: the committed CSVs have the properties the lesson relies on.

Expected values come from the design brief of each data set (ranges the course text quotes, e.g.
sigma2_u 50-80 and ICC about 0.18 for the clinics) and from textbook formulas written out here
(ICC = sigma2_u / (sigma2_u + sigma2_e), the Wald test of a difference of two coefficients,
the Box-Cox profile log-likelihood with its Jacobian), never from the code under test.
"""

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from scipy import stats

from lmmcourse import data as D

REPO_DATA = Path(__file__).resolve().parents[1] / "data"
M2 = "sbp ~ age + smoker + bmi + female + clinic_urban + scale(clinic_size)"


def _fit(formula, df, groups, **kw):
    re_formula = kw.pop("re_formula", None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return smf.mixedlm(formula, df, groups=groups, re_formula=re_formula).fit(reml=True, **kw)


def _icc(res):
    u = float(res.cov_re.iloc[0, 0])
    return u / (u + res.scale)


@pytest.fixture(scope="module")
def clinics():
    return D.load_clinics(REPO_DATA / "phaa_clinics.csv")


@pytest.fixture(scope="module")
def m2(clinics):
    return _fit(M2, clinics, "clinic_id")


# ------------------------------------------------------------------------------ phaa_clinics
def test_clinics_m0_components_and_icc(clinics):
    m0 = _fit("sbp ~ 1", clinics, "clinic_id")
    sigma2_u, sigma2_e = float(m0.cov_re.iloc[0, 0]), m0.scale
    assert 50 <= sigma2_u <= 80
    assert 250 <= sigma2_e <= 350
    assert 0.15 <= sigma2_u / (sigma2_u + sigma2_e) <= 0.21


def test_clinics_m2_icc_about_half_of_m0(clinics, m2):
    icc2 = _icc(m2)
    assert 0.08 <= icc2 <= 0.12
    m0 = _fit("sbp ~ 1", clinics, "clinic_id")
    assert 0.35 <= icc2 / _icc(m0) <= 0.65
    # the clinic-level covariates carry real signal
    assert m2.fe_params["scale(clinic_size)"] < 0
    assert m2.fe_params["clinic_urban[T.urban]"] < 0


def test_clinics_smoker_random_slope_not_supported(clinics, m2):
    m3 = _fit(M2, clinics, "clinic_id", re_formula="~smoker")
    lrt = max(2 * (m3.llf - m2.llf), 0.0)
    # anova(m2, m3) in R refers the LRT to chi2 with 2 df (variance + covariance)
    assert stats.chi2.sf(lrt, 2) > 0.10
    # also under the boundary-corrected 50:50 mixture of chi2_1 and chi2_2
    assert 0.5 * stats.chi2.sf(lrt, 1) + 0.5 * stats.chi2.sf(lrt, 2) > 0.10
    # the conclusion does not hang on the optimiser
    m3b = _fit(M2, clinics, "clinic_id", re_formula="~smoker", method=["powell"])
    assert stats.chi2.sf(max(2 * (m3b.llf - m2.llf), 0.0), 2) > 0.10


def test_clinics_contextual_age_effect(clinics):
    df = clinics.copy()
    df["age_mean"] = df.groupby("clinic_id", observed=True)["age"].transform("mean")
    df["age_within"] = df["age"] - df["age_mean"]
    rhs = "age_mean + age_within + smoker + bmi + female + clinic_urban + scale(clinic_size)"
    res = _fit("sbp ~ " + rhs, df, "clinic_id")
    b = res.fe_params
    v = res.cov_params().loc[b.index, b.index]
    z_between = b["age_mean"] / np.sqrt(v.loc["age_mean", "age_mean"])
    z_within = b["age_within"] / np.sqrt(v.loc["age_within", "age_within"])
    assert z_between > 3 and z_within > 3
    # Wald test of beta_between - beta_within = 0: c'b / sqrt(c'Vc), c = (1, -1)
    diff = b["age_mean"] - b["age_within"]
    se = np.sqrt(
        v.loc["age_mean", "age_mean"]
        + v.loc["age_within", "age_within"]
        - 2 * v.loc["age_mean", "age_within"]
    )
    assert diff > 0
    assert 2 * stats.norm.sf(abs(diff / se)) < 0.05


def test_clinics_design_and_plausible_ranges(clinics):
    sizes = clinics.groupby("clinic_id", observed=True).size()
    assert len(sizes) == 30
    assert 900 <= len(clinics) <= 1000
    assert sizes.min() <= 10 and sizes.max() >= 50
    assert clinics["sbp"].between(80, 220).all()
    assert clinics["age"].between(18, 100).all()
    assert clinics["bmi"].between(15, 60).all()
    assert set(clinics["female"]) == {0, 1}
    assert set(clinics["smoker"]) == {"No", "Yes"}
    # clinic-level variables are constant within clinic; clinic mean age varies substantially
    per_clinic = clinics.groupby("clinic_id", observed=True)
    assert (per_clinic["clinic_size"].nunique() == 1).all()
    assert (per_clinic["clinic_urban"].nunique() == 1).all()
    assert per_clinic["age"].mean().std() > 3
    assert list(clinics.columns) == [
        "clinic_id", "clinic_urban", "clinic_size", "sbp", "age", "smoker", "bmi", "female",
    ]


def test_load_clinics_types_and_formula(clinics):
    assert isinstance(clinics["clinic_id"].dtype, pd.CategoricalDtype)
    assert list(clinics["clinic_urban"].cat.categories) == ["rural", "urban"]
    assert list(clinics["smoker"].cat.categories) == ["No", "Yes"]
    for col in ("sbp", "age", "bmi"):
        assert clinics[col].dtype == np.float64
    for col in ("clinic_size", "female"):
        assert clinics[col].dtype == np.int64
    # categoricals enter a formula without C(), with rural / No as reference levels
    res = smf.ols("sbp ~ smoker + clinic_urban", clinics).fit()
    assert "smoker[T.Yes]" in res.params.index
    assert "clinic_urban[T.urban]" in res.params.index


# ------------------------------------------------------------------------------ loader errors
GOOD = (
    "clinic_id,clinic_urban,clinic_size,sbp,age,smoker,bmi,female\n"
    "C01,rural,1200,130.5,45,No,27.1,0\n"
    "C01,rural,1200,141.0,60,Yes,30.2,1\n"
    "C02,urban,3400,125.2,38,No,22.9,1\n"
)


def _write(tmp_path, text, name="phaa_clinics.csv"):
    p = tmp_path / name
    p.write_text(text)
    return p


def _corrupt(row, col, value):
    lines = GOOD.splitlines()
    header = lines[0].split(",")
    cells = lines[row].split(",")
    cells[header.index(col)] = value
    lines[row] = ",".join(cells)
    return "\n".join(lines) + "\n"


def test_load_clinics_good_small_file(tmp_path):
    df = D.load_clinics(_write(tmp_path, GOOD))
    assert df.shape == (3, 8)
    assert df["sbp"].tolist() == [130.5, 141.0, 125.2]


@pytest.mark.parametrize(
    ("row", "col", "value"),
    [
        (2, "sbp", "high"),  # non-numeric
        (3, "sbp", "0"),  # impossible: sbp <= 0
        (1, "sbp", "-12.5"),
        (2, "age", "130"),  # outside 0-120
        (3, "age", "-1"),
        (2, "smoker", "maybe"),  # not No/Yes
        (1, "smoker", "yes"),  # case matters
        (3, "female", "2"),
        (1, "clinic_urban", "suburban"),
        (2, "sbp", ""),  # missing value
    ],
)
def test_load_clinics_bad_value(tmp_path, row, col, value):
    p = _write(tmp_path, _corrupt(row, col, value))
    with pytest.raises(ValueError) as err:
        D.load_clinics(p)
    msg = str(err.value)
    assert str(p) in msg
    assert repr(col) in msg
    assert f"data row {row}" in msg
    assert repr(value) in msg


def test_load_clinics_reports_first_bad_row(tmp_path):
    text = _corrupt(2, "age", "150")
    text = text.replace("C02,urban,3400,125.2,38", "C02,urban,3400,125.2,200")
    with pytest.raises(ValueError, match=r"data row 2 .*'150'"):
        D.load_clinics(_write(tmp_path, text))


def test_load_clinics_missing_column(tmp_path):
    text = "\n".join(",".join(line.split(",")[:-1]) for line in GOOD.splitlines()) + "\n"
    p = _write(tmp_path, text)
    with pytest.raises(ValueError, match="missing column.*female") as err:
        D.load_clinics(p)
    assert str(p) in str(err.value)


@pytest.mark.parametrize("text", ["", GOOD.splitlines()[0] + "\n"])
def test_load_clinics_empty_file(tmp_path, text):
    p = _write(tmp_path, text)
    with pytest.raises(ValueError, match="empty|no data rows") as err:
        D.load_clinics(p)
    assert str(p) in str(err.value)


def test_load_clinics_cluster_variable_must_be_constant(tmp_path):
    p = _write(tmp_path, _corrupt(2, "clinic_size", "999"))
    with pytest.raises(ValueError, match=r"'clinic_size', data row 2 .*'999'"):
        D.load_clinics(p)


# ------------------------------------------------------------------------------ path lookup
def test_lookup_env_var(tmp_path, monkeypatch):
    _write(tmp_path, GOOD)
    monkeypatch.setenv("LMMCOURSE_DATA", str(tmp_path))
    assert len(D.load_clinics()) == 3


def test_lookup_cwd_parents(tmp_path, monkeypatch):
    (tmp_path / "data").mkdir()
    _write(tmp_path / "data", GOOD)
    sub = tmp_path / "a" / "b"
    sub.mkdir(parents=True)
    monkeypatch.delenv("LMMCOURSE_DATA", raising=False)
    monkeypatch.chdir(sub)
    assert D.data_path("phaa_clinics.csv") == tmp_path / "data" / "phaa_clinics.csv"


def test_lookup_falls_back_to_repo(tmp_path, monkeypatch):
    monkeypatch.delenv("LMMCOURSE_DATA", raising=False)
    monkeypatch.chdir(tmp_path)
    assert D.data_path("phaa_clinics.csv") == REPO_DATA / "phaa_clinics.csv"


def test_lookup_not_found_says_where_and_how(tmp_path, monkeypatch):
    monkeypatch.setenv("LMMCOURSE_DATA", str(tmp_path))
    with pytest.raises(FileNotFoundError) as err:
        D.load_herds()
    msg = str(err.value)
    assert str(tmp_path / "milk_herds.csv") in msg
    assert "make data" in msg
    with pytest.raises(FileNotFoundError, match="make data"):
        D.load_trial(tmp_path / "nope.csv")


# ------------------------------------------------------------------------------ other data sets
def test_herds_icc_near_design_value():
    herds = D.load_herds(REPO_DATA / "milk_herds.csv")
    sizes = herds.groupby("herd_id", observed=True).size()
    assert len(sizes) == 50 and sizes.min() >= 5 and sizes.max() <= 60
    assert sizes.max() - sizes.min() >= 30
    res = _fit("milk ~ 1", herds, "herd_id")
    # design: sigma2_u = 200, sigma2_e = 800 (course text), ICC = 200 / (200 + 800) = 0.2
    assert _icc(res) == pytest.approx(0.2, abs=0.02)
    assert float(res.cov_re.iloc[0, 0]) == pytest.approx(200, rel=0.15)
    assert res.scale == pytest.approx(800, rel=0.05)


def test_trial_random_slope_clearly_supported():
    trial = D.load_trial(REPO_DATA / "multicentre_trial.csv")
    assert trial["hospital_id"].nunique() == 30
    assert set(trial["treatment"]) == {0, 1}
    ri = _fit("sbp_reduction ~ treatment", trial, "hospital_id")
    rs = _fit("sbp_reduction ~ treatment", trial, "hospital_id", re_formula="~treatment")
    assert rs.converged
    lrt = 2 * (rs.llf - ri.llf)
    assert stats.chi2.sf(lrt, 2) < 0.001


def test_classrooms_story_properties():
    cls = D.load_classrooms(REPO_DATA / "classrooms.csv")
    sizes = cls.groupby("classroom", observed=True).size()
    assert list(sizes.index) == ["A", "B", "C", "D", "E"]
    assert 60 <= len(cls) <= 90
    assert sizes.min() <= 6 and sizes.idxmin() == "C"
    assert cls["score"].between(0, 100).all()
    # OLS slope of score on hours: cov(x, y) / var(x), pooled and within each classroom
    def slope(d):
        return np.cov(d["hours"], d["score"])[0, 1] / d["hours"].var()

    within = cls.groupby("classroom", observed=True)[["hours", "score"]].apply(slope)
    assert (within > 0).all()
    assert slope(cls) < 0  # pooling reverses the sign (misleading)
    assert within.max() - within.min() > 2  # visibly fanning lines
    means = cls.groupby("classroom", observed=True)["score"].mean()
    assert means.max() - means.min() > 15  # clearly different levels
    # partial pooling visibly pulls the small classroom's slope towards the average
    res = _fit("score ~ hours", cls, "classroom", re_formula="~hours")
    blup_c = res.fe_params["hours"] + res.random_effects["C"]["hours"]
    assert abs(within["C"] - blup_c) > 0.5
    assert abs(blup_c - res.fe_params["hours"]) < abs(within["C"] - res.fe_params["hours"])


def test_costs_boxcox_lambda_near_zero():
    costs = D.load_costs(REPO_DATA / "hospital_costs.csv")
    sizes = costs.groupby("hospital_id", observed=True).size()
    assert len(sizes) == 40 and sizes.min() >= 10 and sizes.max() <= 60
    assert (costs["cost"] > 0).all()
    assert stats.skew(costs["cost"]) > 1  # right-skewed on the raw scale
    y = costs["cost"].to_numpy()
    log_sum = np.log(y).sum()
    profile = {}
    for lam in (-0.5, -0.25, 0.0, 0.25, 0.5, 1.0):
        # Box & Cox (1964): z = (y^lam - 1)/lam (log y at 0); ML log-likelihood + (lam - 1) sum log y
        z = np.log(y) if lam == 0 else (y**lam - 1) / lam
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = smf.mixedlm("z ~ age + los", costs.assign(z=z), groups="hospital_id").fit(
                reml=False
            )
        profile[lam] = res.llf + (lam - 1) * log_sum
    assert max(profile, key=profile.get) == 0.0
    assert profile[0.0] - profile[1.0] > 50  # the untransformed scale is clearly worse


# ------------------------------------------------------------------------------ regeneration
def test_regeneration_is_byte_identical(tmp_path):
    written = D.write_all(tmp_path)
    assert sorted(p.name for p in written) == sorted(D.DATA_FILES)
    for p in written:
        assert p.read_bytes() == (REPO_DATA / p.name).read_bytes(), p.name


def test_check_mode_names_differing_file(tmp_path, capsys):
    D.write_all(tmp_path)
    assert D.main(["--check", "--out", str(tmp_path)]) == 0
    target = tmp_path / "milk_herds.csv"
    target.write_text(target.read_text().replace("H01,", "H99,", 1))
    assert D.main(["--check", "--out", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "milk_herds.csv" in err and "phaa_clinics.csv" not in err


def test_simulators_are_seeded():
    a = D.simulate_clinics(seed=1)
    pd.testing.assert_frame_equal(a, D.simulate_clinics(seed=1))
    assert not a["sbp"].equals(D.simulate_clinics(seed=2)["sbp"])


def test_every_generator_is_registered_with_its_seed_and_truth():
    """One home for the generators: each committed CSV and the negative-ANOVA example are in DATASETS."""
    from lmmcourse import data as D
    files = {d.file for d in D.DATASETS.values() if d.file}
    assert files == set(D.DATA_FILES)
    for name, d in D.DATASETS.items():
        assert d.seed == D.SEEDS[name]
        assert d.truth is not None
    # the registered seed of the negative example really gives a negative ANOVA estimate
    neg = D.DATASETS["negative_anova"].simulate()
    g = neg.groupby("group")["y"]
    k, n = g.ngroups, len(neg)
    msb = (g.size() * (g.mean() - neg["y"].mean()) ** 2).sum() / (k - 1)
    msw = ((neg["y"] - g.transform("mean")) ** 2).sum() / (n - k)
    assert msb < msw
