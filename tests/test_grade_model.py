"""grade_model: "write the model" tasks graded on the fitted object, on the lesson's clinics data.

The expected scores are worked by hand from the documented weights (fixed terms 2/6 of the points,
grouping, random part, method and estimates 1/6 each), not read off the code: a 3-point task that
loses only the method earns 3 * 4/6 = 2, one that loses the fixed terms 3 * 3/6 = 1.5, one whose fit
did not converge 3 * 5/6 = 2.5. The partial-credit mechanism is nbgrader 0.9.6's own
``nbgrader.utils.determine_grade``.
"""

import re
import warnings
from pathlib import Path

import nbformat
import pytest
import statsmodels.formula.api as smf

from lmmcourse import data
from lmmcourse.grading import AnswerFormatError, Score, check, encode_text, grade_model

F1 = "sbp ~ age + smoker + bmi + female"
F2 = "sbp ~ age + smoker + bmi + female + clinic_urban + scale(clinic_size)"


@pytest.fixture(scope="module")
def clinics():
    frame = data.load_clinics()
    frame["age_c"] = frame["age"] - frame["age"].mean()
    frame["bmi10"] = frame["bmi"] / 10
    return frame


def _fit(formula, frame, **kw):
    fit_kw = {k: kw.pop(k) for k in ("reml", "method", "maxiter") if k in kw}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return smf.mixedlm(formula, frame, groups=kw.pop("groups", "clinic_id"), **kw).fit(**fit_kw)


def _m1(answer, **kw):
    spec = dict(data=data.load_clinics(), formula=F1, groups="clinic_id", reml=True, points=3,
                name="m1")
    spec.update(kw)
    return grade_model(answer, **spec)


# ------------------------------------------------------------------ Section 1: m1 (random intercept)
def test_instructor_solution_full_marks(clinics, capsys):
    score = _m1(_fit(F1, clinics, reml=True))
    assert score == 3.0 and score.out_of == 3.0
    assert "m1: correct" in capsys.readouterr().out


def test_equivalent_spellings_full_marks(clinics):
    # other order, no spaces, C() on a 0/1 variable, a centred and a rescaled covariate
    assert _m1(_fit("sbp~C(female)+bmi10+age_c+smoker", clinics)) == 3.0


@pytest.mark.parametrize("formula,reml,kw,points,phrase", [
    (F1, False, {}, 2.0, "fitted by ML (reml=False), but the task asks for REML"),
    ("sbp ~ age + smoker + bmi", True, {}, 1.5, "no fixed effect for female"),
    (F1 + " + clinic_urban", True, {}, 1.5, "does not ask for: clinic_urban"),
    (F1, True, {"groups": "clinic_urban"}, 2.0, "your grouping has 2 clusters, the task's 30"),
    (F1, True, {"re_formula": "~age", "method": "powell"}, 2.0,
     "random slope for age, which the task does not ask for"),
    ("sbp ~ age + smoker + bmi", False, {}, 1.0, "no fixed effect for female"),
])
def test_typical_mistakes_partial_credit(clinics, capsys, formula, reml, kw, points, phrase):
    score = _m1(_fit(formula, clinics, reml=reml, **kw))
    assert score == pytest.approx(points)
    assert phrase in capsys.readouterr().out.replace("\n", " ")
    assert phrase in " ".join(score.messages)


def test_feedback_never_shows_the_solution(clinics, capsys):
    _m1(_fit("sbp ~ age + bmi", clinics))
    out = capsys.readouterr().out
    assert "female" in out and "smoker" in out  # names what is missing ...
    assert F1 not in out and "reml=True" not in out  # ... but not the call


def test_wrong_response_scores_zero(clinics):
    with pytest.raises(AssertionError, match="response .* is `bmi`"):
        _m1(_fit("bmi ~ age + smoker + sbp + female", clinics))


def test_fit_to_a_subset_scores_zero(clinics):
    with pytest.raises(AssertionError, match="fitted to 480 rows, but the task uses all 960"):
        _m1(_fit(F1, clinics.iloc[:480]))


def test_not_converged_loses_only_the_estimates(clinics, capsys):
    result = _fit(F1, clinics, method="bfgs", maxiter=1)
    assert not result.converged
    assert _m1(result) == pytest.approx(2.5)
    assert "did not converge" in capsys.readouterr().out


@pytest.mark.parametrize("answer,phrase", [
    (None, "No answer yet"),
    (F1, "is text (a formula?)"),
    ("unfitted", "has not been fitted yet"),
    ("ols", "is an OLS fit, not a linear mixed model"),
    (42, "is of type int, not a fitted mixed model"),
])
def test_wrong_type_is_a_format_error(clinics, answer, phrase):
    if answer == "unfitted":
        answer = smf.mixedlm(F1, clinics, groups="clinic_id")
    elif answer == "ols":
        answer = smf.ols(F1, clinics).fit()
    with pytest.raises(AnswerFormatError, match=re.escape(phrase)):
        _m1(answer)


def test_rows_reordered_are_aligned(clinics):
    # the same data frame, sorted another way: the rows are matched through the index
    assert _m1(_fit(F1, clinics.sample(frac=1, random_state=1))) == 3.0
    assert _m1(_fit(F1, clinics.sort_values(["smoker", "age"]), reml=False)) == 2.0


def test_rows_reordered_without_index_scores_zero(clinics):
    shuffled = clinics.sample(frac=1, random_state=1).reset_index(drop=True)
    with pytest.raises(AssertionError, match="rows are in a different order"):
        _m1(_fit(F1, shuffled))


def test_estimates_outside_tolerance(clinics, capsys):
    import copy

    result = copy.deepcopy(_fit(F1, clinics))
    result._results.cov_re = result._results.cov_re * 1.5  # a between-clinic variance 50% too big
    assert _m1(result) == pytest.approx(2.5)  # 3 * 5/6: everything but the estimates
    assert "random-effect variances" in capsys.readouterr().out
    result._results.cov_re = result._results.cov_re / 1.5 * 1.01  # within the 2% tolerance
    assert _m1(result) == 3.0


def test_no_warning_reaches_stderr(clinics, recwarn):
    _m1(_fit(F1, clinics, method="bfgs", maxiter=1))
    assert len(recwarn) == 0  # nbgrader gives 0 points to a test cell with any stderr output


# ------------------------------------------------------------------ Section 2: correlated random slope
def _m_age(answer):
    return grade_model(answer, data=data.load_clinics(), formula=F2, groups="clinic_id",
                       re_formula="~age", reml=False, points=3, name="m_age")


@pytest.mark.slow
def test_random_slope_task(clinics, capsys):
    assert _m_age(_fit(F2, clinics, re_formula="~age", reml=False, method="powell")) == 3.0
    # the same model with age centred and in decades: the fit does not depend on the coding
    recoded = F2.replace("age", "I(age_c / 10)")
    assert _m_age(_fit(recoded, clinics, re_formula="~I(age_c / 10)", reml=False,
                       method="powell")) == 3.0
    assert _m_age(_fit(F2, clinics, re_formula="~age", reml=True, method="powell")) == 2.0
    assert _m_age(_fit(F2, clinics, reml=False, method="powell")) == 2.0
    assert "no random slope for age" in capsys.readouterr().out
    uncorrelated = _fit(F2, clinics, re_formula="1", vc_formula={"age": "0 + age"}, reml=False,
                        method="powell")
    assert _m_age(uncorrelated) == 2.0
    assert "uncorrelated" in capsys.readouterr().out


# ------------------------------------------------------------------ nbgrader partial credit
def _graded_cell(outputs, points=3):
    cell = nbformat.v4.new_code_cell("grade_model(m1, ...)")
    cell.metadata["nbgrader"] = {"grade": True, "solution": False, "points": points,
                                 "grade_id": "test_m1", "locked": True, "schema_version": 3}
    cell.outputs = outputs
    return cell


def test_nbgrader_reads_the_score_as_partial_credit(clinics):
    from nbgrader.utils import determine_grade

    score = _m1(_fit(F1, clinics, reml=False))
    outputs = [nbformat.v4.new_output("stream", name="stdout", text="m1: partly right ...\n"),
               nbformat.v4.new_output("execute_result", data={"text/plain": repr(score)},
                                      execution_count=1)]
    assert determine_grade(_graded_cell(outputs)) == (2.0, 3.0)
    full = _m1(_fit(F1, clinics))
    outputs[1] = nbformat.v4.new_output("execute_result", data={"text/plain": repr(full)},
                                        execution_count=1)
    assert determine_grade(_graded_cell(outputs)) == (3.0, 3.0)


def test_score_is_a_plain_number():
    s = Score(1.5, 3, ["Your model has no random slope for age."])
    assert repr(s) == "1.5" and float(s) == 1.5 and s.out_of == 3.0


# ------------------------------------------------------------------ self-study check()
def _bank(code):
    salt = "test-salt"
    return {"questions": {"m1": {"notebook": "s1", "kind": "code", "salt": salt,
                                 "code": encode_text(code, salt, "m1:code")}}}


TEST_CODE = ('check_format(m1, kind="model")\n'
             'grade_model(m1, data=data.load_clinics(), formula="' + F1 + '",\n'
             '            groups="clinic_id", reml=True, points=3, name="m1")\n')


def test_check_runs_the_same_hidden_test(clinics, capsys):
    bank = _bank(TEST_CODE)
    assert check("m1", _fit(F1, clinics), bank=bank) is None  # nothing echoed
    assert capsys.readouterr().out.strip() == "✓ Correct (m1)."
    check("m1", _fit(F1, clinics, reml=False), bank=bank)
    out = capsys.readouterr().out
    assert out.startswith("◐ (m1) Partly right (2 of 3 points).")
    assert "fitted by ML" in out and out.count("partly right") == 0  # printed once
    check("m1", None, bank=bank)
    assert capsys.readouterr().out.startswith("m1: No answer yet")
    check("m1", "sbp ~ age", bank=bank)
    assert "is text (a formula?)" in capsys.readouterr().out
    check("m1", _fit("bmi ~ age", clinics), bank=bank)
    assert capsys.readouterr().out.startswith("✗ Not yet (m1). Your model does not model")


def test_check_prints_instead_of_returning(capsys):
    bank = _bank("assert_close(x, 2.5, tol=0.01)\n")
    bank["questions"]["x"] = bank["questions"].pop("m1")
    bank["questions"]["x"]["code"] = encode_text("assert_close(x, 2.5, tol=0.01)\n", "test-salt",
                                                 "x:code")
    assert check("x", 2.5, bank=bank) is None
    assert "✓ Correct (x)." in capsys.readouterr().out
    assert check("x", 3.0, bank=bank) is None
    assert "✗ Not yet (x). Your answer: 3 is too high" in capsys.readouterr().out


# ------------------------------------------------------------------ the masters' own tasks
MASTERS = Path(__file__).resolve().parents[1] / "source"
S1 = MASTERS / "section1" / "section1_linear_mixed_model.ipynb"
S2 = MASTERS / "section2" / "section2_random_slopes.ipynb"


def _cell(path, cell_id):
    nb = nbformat.read(path, as_version=4)
    return next(c for c in nb.cells if c.get("id") == cell_id)


def _solution(source):
    return source.split("### BEGIN SOLUTION\n", 1)[1].split("### END SOLUTION", 1)[0]


def _test_code(source):
    """What nbgrader's autograder runs (and the self-study bank encodes): the markers removed."""
    return re.sub(r"^[ \t]*### (BEGIN|END) HIDDEN TESTS[ \t]*\n?", "", source, flags=re.M)


def _namespace(clinics):
    from lmmcourse import stats
    from lmmcourse.grading import assert_close, check_format, grade_choice

    return {"smf": smf, "data": data, "stats": stats, "clinics": clinics.copy(),
            "grade_model": grade_model, "check_format": check_format,
            "grade_choice": grade_choice, "assert_close": assert_close}


def _run_master_task(path, answer_id, test_id, answer_code, namespace):
    from lmmcourse.grading import _run_test_code

    test = _cell(path, test_id)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        exec(answer_code, namespace)
    return _run_test_code(_test_code(test.source), test_id, namespace), test.metadata["nbgrader"]


def test_section1_m1_task(clinics, capsys):
    answer = _cell(S1, "s1-m1-answer")
    assert answer.metadata["nbgrader"]["grade_id"] == "m1" and answer.metadata["nbgrader"]["solution"]
    solution = _solution(answer.source)
    score, meta = _run_master_task(S1, "m1", "s1-m1-test", solution, _namespace(clinics))
    assert meta["grade_id"] == "test_m1" and score == meta["points"] == 3
    for wrong, points in [(solution.replace("reml=True", "reml=False"), 2.0),
                          (solution.replace(" + female", ""), 1.5),
                          (solution.replace('groups="clinic_id"', 'groups="clinic_urban"'), 2.0)]:
        assert wrong != solution
        score, _ = _run_master_task(S1, "m1", "s1-m1-test", wrong, _namespace(clinics))
        assert score == pytest.approx(points)
    # the student's variable has another name: the task alone fails (NameError or no answer)
    with pytest.raises((NameError, AnswerFormatError)):
        _run_master_task(S1, "m1", "s1-m1-test", solution.replace("m1 =", "model1 ="),
                         _namespace(clinics))


@pytest.mark.slow
def test_section2_m_age_task(clinics):
    ns = _namespace(clinics)
    ns["f_m2"] = F2
    ns["m2_ml"] = _fit(F2, clinics, reml=False, method="powell")
    solution = _solution(_cell(S2, "s2-age-answer").source)
    score, meta = _run_master_task(S2, "m_age", "s2-age-test", solution, ns)
    assert meta["grade_id"] == "test_m_age" and score == meta["points"] == 3
    score, _ = _run_master_task(S2, "m_age", "s2-age-test",
                                solution.replace("reml=False", "reml=True"), ns)
    assert score == 2.0  # right model, REML instead of ML
    keep = _solution(_cell(S2, "s2-keep-age-answer").source)
    result, meta = _run_master_task(S2, "keep_age", "s2-keep-age-test", keep, ns)
    assert result is None and meta["points"] == 1  # grade_choice passed


def test_master_tasks_in_the_self_study_check(clinics, capsys):
    code = _test_code(_cell(S1, "s1-m1-test").source)
    bank = _bank(code)
    check("m1", _fit(F1, clinics, reml=False), bank=bank)
    assert capsys.readouterr().out.startswith("◐ (m1) Partly right (2 of 3 points).")
