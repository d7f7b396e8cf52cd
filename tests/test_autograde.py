"""Autograding with nbgrader on synthetic submissions: exact scores, broken submissions, batch robustness.

The fast tests use the fixture master plus one more question (so that half the points is reachable):
q9_1 (choice, 1 point, key "b"), q9_2 (choice, 1 point, key "d"), mean_demo (number, 2 points): 4
autograded points, and a reflection worth 2 points graded by hand. The scenario that breaks one question
breaks the first multiple-choice one, q9_1 (1 point). Scores are read from nbgrader's own gradebook.
The fixture has no write-the-model task, so the model scenarios write no submission there; they are
exercised on the real Section 1 master (slow test at the end) and, without nbgrader, on hand-made tasks.
"""

import ast
import csv
import shutil
from pathlib import Path

import nbformat
import pytest

from lmminstructor import autograde_demo as ag
from lmminstructor.conventions import Question

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = Path(__file__).parent / "fixtures" / "course" / "source"
TIMEOUT = 10  # seconds per cell in the test course (the real course uses 60)
MODEL_STUDENTS = [s for s, _ in ag.MODEL_SCENARIOS]
STUDENTS = [s for s, _ in ag.SCENARIOS if s not in MODEL_STUDENTS]
# hand-worked from the points above
EXPECTED = {"perfect": 4, "blank": 0, "half": 2, "no_answer_cell": 3, "no_test_cell": 4,
            "edited_tests": 3, "raises": 3, "infinite_loop": 3, "wrong_type": 3}


def _add_question(master: Path):
    nb = nbformat.read(master, as_version=4)
    meta = {"grade": False, "grade_id": "q9_2", "locked": False, "schema_version": 3, "solution": True,
            "task": False}
    test = {"grade": True, "grade_id": "test_q9_2", "locked": True, "points": 1, "schema_version": 3,
            "solution": False, "task": False}
    cells = [
        nbformat.v4.new_markdown_cell("**Question 2.** Which letter is last?\n\n**(a)** a\n\n**(b)** b\n\n"
                                      "**(c)** c\n\n**(d)** d"),
        nbformat.v4.new_code_cell('q9_2 = None  # your answer\n### BEGIN SOLUTION\nq9_2 = "d"\n'
                                  "### END SOLUTION", metadata={"nbgrader": meta}),
        nbformat.v4.new_code_cell(
            'check_format(q9_2, kind="choice")\n### BEGIN HIDDEN TESTS\ngrade_choice("q9_2", q9_2, key="d",'
            ' feedback={"a": "First.", "b": "Second.", "c": "Third.", "d": "Last."})\n'
            "### END HIDDEN TESTS", metadata={"nbgrader": test}),
    ]
    for i, cell in enumerate(cells):
        cell["id"] = f"extra-{i}"
    at = next(i for i, c in enumerate(nb.cells) if c.get("id") == "demo-06")
    nb.cells[at:at] = cells
    master.write_text(nbformat.writes(nb), encoding="utf-8")


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    src = tmp_path_factory.mktemp("src") / "source"
    shutil.copytree(FIXTURE, src)
    _add_question(src / "demo" / "demo.ipynb")
    return src


@pytest.fixture(scope="module")
def demo(source, tmp_path_factory):
    """Run the whole demonstration once (about a minute: one kernel per submission)."""
    course = tmp_path_factory.mktemp("agd") / "course"
    rows = ag.run_demo(course, source, timeout=TIMEOUT, log=lambda *_: None)
    return course, {r.student: r for r in rows}


def _gradebook(course):
    from nbgrader.api import Gradebook

    out = {}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", ag.COURSE_ID) as gb:
        for student in gb.students:
            sub = gb.find_submission("demo", student.id)
            out[student.id] = (sub.code_score, sub.max_code_score)
    return out


def test_answer_key_from_the_master(source):
    key = ag.analyse_master(source / "demo" / "demo.ipynb")
    got = [(q.answer_id, q.kind, q.points, q.key) for q in key.questions]
    assert got == [("q9_1", "choice", 1.0, "b"), ("q9_2", "choice", 1.0, "d"),
                   ("mean_demo", "number", 2.0, None)]
    assert key.auto_points == 4 and key.manual_points == 2
    assert key.target().answer_id == "q9_1"
    assert sum(q.points for q in key.half()) == 2


def test_never_wipes_a_folder_it_did_not_make(tmp_path, source):
    (tmp_path / "notes.txt").write_text("keep me", encoding="utf-8")
    with pytest.raises(ValueError, match="not made by the autograding demo"):
        ag.make_course(tmp_path, source)
    assert (tmp_path / "notes.txt").exists()
    with pytest.raises(ValueError, match="not made by the autograding demo"):
        ag.make_course(ROOT, source)
    course = tmp_path / "course"
    ag.make_course(course, source)
    (course / "stale.txt").write_text("old run", encoding="utf-8")
    ag.make_course(course, source)  # a previous demo folder is wiped and rebuilt
    assert not (course / "stale.txt").exists() and (course / "source" / "demo" / "demo.ipynb").exists()


def test_half_with_odd_total_takes_the_largest_sum_below_half():
    qs = [Question(f"x{i}", f"test_x{i}", p, "number") for i, p in enumerate([2, 2, 3])]
    key = ag.AssignmentKey("a", "a.ipynb", qs, {}, 0)
    assert sum(q.points for q in key.half()) == 3  # half of 7 is 3.5: 3 is reachable, 3.5 is not


@pytest.mark.slow  # shares the module's demo run (about 25-50 s: one kernel per submission)
def test_exact_scores_from_the_gradebook(demo):
    course, _ = demo
    scores = _gradebook(course)
    for student, expected in EXPECTED.items():
        assert scores[student] == (expected, 4), student


@pytest.mark.slow
def test_every_student_has_a_grade_and_the_export_has_them_all(demo):
    course, rows = demo
    assert set(_gradebook(course)) == set(STUDENTS)
    # no write-the-model task in the fixture: no model scenario was submitted
    assert not any((course / "submitted" / s).exists() for s in MODEL_STUDENTS)
    with open(course / "grades.csv", newline="") as fh:
        exported = {r["student_id"]: r for r in csv.DictReader(fh)}
    assert set(exported) == set(STUDENTS)
    assert float(exported["perfect"]["raw_score"]) == 4  # manual points not yet given
    assert float(exported["perfect"]["max_score"]) == 6  # 4 autograded + 2 for the reflection


@pytest.mark.slow
def test_summary_rows_match_the_expected_scores(demo):
    _, rows = demo
    assert [r.student for r in rows.values()] == STUDENTS
    assert all(r.as_expected for r in rows.values()), ag.format_table(list(rows.values()))
    assert rows["perfect"].manual == "pending" and rows["blank"].manual == ""


@pytest.mark.slow
def test_broken_submissions_are_reported_clearly(demo):
    _, rows = demo
    notes = {s: " | ".join(r.notes) for s, r in rows.items()}
    assert notes["perfect"] == "" and notes["half"] == ""
    assert "answer cell q9_1 deleted" in notes["no_answer_cell"]
    assert "test cell test_q9_1 deleted (restored from the master)" in notes["no_test_cell"]
    assert ("3 test cells edited (test_q9_1, test_q9_2, test_mean_demo; restored from the master)"
            in notes["edited_tests"])
    assert "answer cell q9_1 raised RuntimeError" in notes["raises"]
    assert "answer cell q9_1 stopped by the time limit" in notes["infinite_loop"]
    assert 'test_q9_1: Your answer 3 is not one of "a", "b", "c", "d"' in notes["wrong_type"]
    assert "missing notebook demo.ipynb" in notes["renamed"]
    assert "extra notebook demo-Copy1.ipynb" in notes["renamed"]
    assert "not a valid notebook (NotJSONError)" in notes["bad_json"]
    for s in ("renamed", "bad_json"):
        assert "NOT AUTOGRADED" in notes[s] and rows[s].manual == "-"
    table = ag.format_table(list(rows.values()))
    assert table.splitlines()[0].split() == ["student", "assignment", "score", "max", "expected", "ok",
                                             "manual", "notes"]


@pytest.mark.slow
def test_infinite_loop_is_stopped_by_the_cell_timeout(demo):
    course, rows = demo
    nb = nbformat.read(course / "autograded" / "infinite_loop" / "demo" / "demo.ipynb", as_version=4)
    errors = [o.ename for c in nb.cells if c.cell_type == "code" for o in c.outputs
              if o.output_type == "error"]
    assert "CellTimeoutError" in errors
    assert TIMEOUT <= rows["infinite_loop"].seconds < TIMEOUT + 60


@pytest.mark.slow
def test_feedback_is_generated_for_every_graded_student(demo):
    course, _ = demo
    graded = {p.parent.parent.name for p in (course / "feedback").glob("*/demo/demo.html")}
    assert graded == set(EXPECTED)


@pytest.mark.slow
def test_a_broken_resubmission_loses_nothing_already_graded(demo):
    course, _ = demo
    before = _gradebook(course)
    graded = course / "autograded" / "half" / "demo" / "demo.ipynb"
    assert graded.exists()
    submitted = course / "submitted" / "half" / "demo" / "demo.ipynb"
    good = submitted.read_text(encoding="utf-8")
    submitted.write_text(good[:100], encoding="utf-8")  # the student re-submits a truncated file
    try:
        [row] = ag.grade_assignment(course, "demo", ["half"], log=lambda *_: None)
    finally:
        submitted.write_text(good, encoding="utf-8")
    assert "NOT AUTOGRADED" in " ".join(row.notes) and ag.KEPT in " ".join(row.notes)
    assert graded.exists()  # nbgrader deletes it on failure; the demo puts it back
    assert _gradebook(course) == before


@pytest.mark.slow
@pytest.mark.skipif(not (ROOT / "source" / "section1").is_dir(), reason="no Section 1 master yet")
def test_real_section_master(tmp_path):
    """Section 1 master: perfect, blank and half-right submissions get exactly their scores."""
    scenarios = [s for s in ag.SCENARIOS if s[0] in ("perfect", "blank", "half")]
    rows = ag.run_demo(tmp_path / "course", ROOT / "source", ["section1"], scenarios=scenarios,
                       feedback=False, log=lambda *_: None)
    key = ag.analyse_master(ROOT / "source" / "section1" / "section1_linear_mixed_model.ipynb")
    assert key.auto_points > 0 and {q.kind for q in key.questions} >= {"choice", "number"}
    by = {r.student: r for r in rows}
    assert by["perfect"].score == by["perfect"].max_score == key.auto_points
    assert by["blank"].score == 0
    assert by["half"].score == sum(q.points for q in key.half())
    assert abs(by["half"].score - key.auto_points / 2) <= 0.5


# ----------------------------------------------------------------------------- write-the-model tasks
def _same_code(a: str, b: str) -> bool:
    return ast.dump(ast.parse(a)) == ast.dump(ast.parse(b))


STUB = "m9 = None  # your fitted model: smf.mixedlm(...).fit(...)"
TASK = ag.ModelTask("m9", 3.0, STUB + "\n",
                    'm9 = smf.mixedlm("score ~ hours + homework + age", pupils, groups="school")'
                    ".fit(reml=True)\nprint(m9.summary())")


@pytest.mark.parametrize("student, code", [
    ("model_wrong_name", 'model9 = smf.mixedlm("score ~ hours + homework + age", pupils, groups="school")'
                         ".fit(reml=True)\nprint(model9.summary())"),
    ("model_no_convergence", 'm9 = smf.mixedlm("score ~ hours + homework + age", pupils, groups="school")'
                             '.fit(reml=True, method="bfgs", maxiter=1)\nprint(m9.summary())'),
    ("model_formula_error",  # the second term misspelt: its last letter becomes "s" (smoker -> smokes)
     'm9 = smf.mixedlm("score ~ hours + homewors + age", pupils, groups="school")'
     ".fit(reml=True)\nprint(m9.summary())"),
    ("model_wrong_method", 'm9 = smf.mixedlm("score ~ hours + homework + age", pupils, groups="school")'
                           ".fit(reml=False)\nprint(m9.summary())"),
])
def test_model_mistakes_transform_the_solution(student, code):
    got = ag.model_mistake(TASK, student, timeout=7)
    first, rest = got.split("\n", 1)
    assert first == STUB  # the student keeps the stub line: the answer variable starts as None
    assert _same_code(rest, code), rest


def test_slow_model_cell_sleeps_past_the_time_limit():
    got = ag.model_mistake(TASK, "model_too_slow", timeout=7)
    tree = ast.parse(got)
    sleeps = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and ast.unparse(n.func) == "time.sleep"]
    assert len(sleeps) == 1 and sleeps[0].args[0].value > 7
    assert got.startswith(STUB) and got.rstrip().endswith(TASK.solution.strip())


def test_model_mistakes_follow_the_master():
    # a formula given by a name is read from the master's code; the method asked is ML here
    task = ag.ModelTask("m_s", 3.0, "m_s = None\n",
                        "m_s = smf.mixedlm(f_two, d, groups='g', re_formula='~x')"
                        ".fit(reml=False, method='powell')",
                        reml=False, context='f_one = "y ~ x"\nd = load()\nf_two = f_one + " + zz + w"\n')
    bad = ast.parse(ag.model_mistake(task, "model_formula_error"))
    assert [n.value for n in ast.walk(bad) if isinstance(n, ast.Constant) and "~" in str(n.value)] == [
        "y ~ x + zzx + w", "~x"]  # "zz" (two letters) gets an extra letter
    flipped = ag.model_mistake(task, "model_wrong_method")
    assert _same_code(flipped.split("\n", 1)[1], "m_s = smf.mixedlm(f_two, d, groups='g', re_formula='~x')"
                      ".fit(method='powell', reml=True)")
    assert ag.model_mistake(task, "model_wrong_name").split("\n", 1)[1].startswith("model_s = ")
    with pytest.raises(ValueError, match="cannot read the formula"):
        ag.model_mistake(ag.ModelTask("m", 1.0, "", "m = smf.mixedlm(make(), d, groups='g').fit()"),
                         "model_formula_error")


def test_declared_outcomes_give_the_documented_scores():
    # grade_model's documented points for a 3-point task (lmmcourse.grading.grade_model, Returns):
    # not converged 2.5, wrong estimation method 2, no fitted model 0
    got = {s: 3 - TASK.points * TASK.share(ag.MODEL_MISTAKES[s].lost) for s in MODEL_STUDENTS}
    assert got == pytest.approx({"model_wrong_name": 0, "model_no_convergence": 2.5, "model_formula_error": 0,
                                 "model_too_slow": 0, "model_wrong_method": 2})


def test_model_task_is_read_from_the_real_masters():
    keys = {p.parent.name: ag.analyse_master(p) for p in sorted((ROOT / "source").glob("*/*.ipynb"))}
    with_tasks = {a for a, k in keys.items() if k.model_target() is not None}
    # hidden grade_model tests, counted from the sources
    assert with_tasks == {p.parent.name for p in (ROOT / "source").glob("*/*.ipynb")
                          if "grade_model(" in p.read_text(encoding="utf-8")}
    for name in with_tasks:
        task = keys[name].model_target()
        for student in MODEL_STUDENTS:
            code = ag.model_mistake(task, student)
            ast.parse(code)  # valid Python
            assert code.startswith(task.stub.rstrip())


def _cell_scores(course, assignment, notebook, student):
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", ag.COURSE_ID) as gb:
        nb = gb.find_submission_notebook(notebook, assignment, student)
        return {g.name: g.score for g in nb.grades}


@pytest.mark.slow
@pytest.mark.skipif(not (ROOT / "source" / "section1").is_dir(), reason="no Section 1 master yet")
def test_real_section_model_mistakes(tmp_path):
    """Section 1's m1 task: each typical mistake costs only that task, by what the task's author stated."""
    master = ROOT / "source" / "section1" / "section1_linear_mixed_model.ipynb"
    key = ag.analyse_master(master)
    task = key.model_target()
    assert task is not None and task.answer_id == "m1" and task.points == 3
    scenarios = [s for s in ag.SCENARIOS if s[0] == "perfect" or s[0] in MODEL_STUDENTS]
    course = tmp_path / "course"
    rows = ag.run_demo(course, ROOT / "source", ["section1"], scenarios=scenarios, feedback=False,
                       log=lambda *_: None)
    by = {r.student: r for r in rows}
    assert list(by) == ["perfect", *MODEL_STUDENTS]
    assert all(r.as_expected for r in rows), ag.format_table(rows)
    # test_m1's points per scenario, as stated by the author of the Section 1 task (3-point cell);
    # every other test cell keeps its full points
    stated = {"perfect": 3, "model_wrong_name": 0, "model_no_convergence": 2.5, "model_formula_error": 0,
              "model_too_slow": 0, "model_wrong_method": 2}
    perfect = _cell_scores(course, "section1", master.stem, "perfect")
    for student, points in stated.items():
        cells = _cell_scores(course, "section1", master.stem, student)
        assert cells["test_m1"] == points, student
        assert {k: v for k, v in cells.items() if k != "test_m1"} == \
            {k: v for k, v in perfect.items() if k != "test_m1"}, student
        assert by[student].score == key.auto_points - 3 + points, student
    notes = {s: " | ".join(r.notes) for s, r in by.items()}
    assert notes["perfect"] == ""
    assert "test_m1: No answer yet" in notes["model_wrong_name"]
    assert "answer cell m1 raised PatsyError" in notes["model_formula_error"]
    assert "answer cell m1 stopped by the time limit" in notes["model_too_slow"]
    assert "test_m1: m1: partly right (2.5 of 3 points)" in notes["model_no_convergence"]
    assert "fitted by ML" in notes["model_wrong_method"]
    for student in MODEL_STUDENTS:  # the feedback never shows the solution
        assert "smoker + bmi" not in notes[student]
    assert ag.DEFAULT_TIMEOUT <= by["model_too_slow"].seconds < ag.DEFAULT_TIMEOUT + 60
