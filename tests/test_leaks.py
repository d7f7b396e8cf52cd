"""Leak check: student-facing files hold no solution, hidden test, model answer, feedback or answer key.

The check is exercised three ways: the committed repository is clean; every secret the scanner extracts
is found again in the instructor's solutions edition (so the matching works on real notebook JSON, and
a clean result means something); and leaks planted in a temporary copy are caught, file and fragment.
"""

import json
import shutil
from pathlib import Path

import nbformat
import pytest

from lmminstructor import build, leaks

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = Path(__file__).parent / "fixtures" / "course"
HAS_MASTERS = any((ROOT / "source").glob("*/*.ipynb"))


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The fixture course built into a temporary folder (fast: no execution)."""
    root = tmp_path_factory.mktemp("leakcourse")
    shutil.copytree(FIXTURE / "source", root / "source")
    build.build(root, run_solutions=False, log=lambda *_: None)
    return root


def test_normalise_whitespace():
    assert leaks.normalise("  a\n\tb   **c**  ") == "a b **c**"
    assert leaks.normalise("\x1b[0;31mNameError\x1b[0m: x") == "NameError: x"
    assert leaks.normalise("x &lt; 1") == "x < 1"


def test_fixture_secrets_are_the_hidden_parts(demo):
    secrets = leaks.collect_secrets(demo / "source")
    kinds = {(s.kind, s.fragment) for s in secrets}
    # hand-listed from tests/fixtures/course/source/demo/demo.ipynb
    assert ("hidden test", 'assert_close(mean_demo, np.mean(np.arange(1, 5)) + 0 * 987654321, tol=0.01, '
            'what="the mean")') in kinds
    assert ("feedback", "SECRET-FEEDBACK-C third.") not in kinds  # 24 characters: below the threshold
    assert ("feedback", "SECRET-FEEDBACK-A first letter.") in kinds
    assert ("model answer", "**Model answer.** SECRET-MODEL-ANSWER because (1+2+3+4)/4.") in kinds
    assert ("solution", "mean_demo = float(np.mean([1, 2, 3, 4]))") in kinds
    keys = {s.fragment for s in secrets if s.kind == "answer key"}
    assert keys == {'q9_1 = "b"', "mean_demo = float(np.mean([1, 2, 3, 4]))"}
    # the visible format check is shown to students: never a secret
    assert not any("check_format" in s.fragment for s in secrets)


def test_fixture_build_is_clean(demo):
    found = leaks.check(demo, paths=[demo / "release", demo / "notebooks", demo / "lmmcourse"])
    assert found == []


def _all_found(secrets, found):
    """Secrets not found again by ``scan`` (plain fragments exactly; patterns and formulas by origin)."""
    hits = {(f.kind, f.origin, f.fragment) for f in found}
    origin_hits = {(f.kind, f.origin) for f in found}
    return [s for s in secrets if not s.rendered and (s.kind, s.origin, s.fragment) not in hits
            and not ((s.pattern or s.formula) and (s.kind, s.origin) in origin_hits)]


def test_every_fixture_secret_is_found_in_the_solutions(demo):
    secrets = leaks.collect_secrets(demo / "source")
    found = leaks.scan([demo / "solutions"], secrets)
    assert _all_found(secrets, found) == []
    assert {f.kind for f in found} == {"hidden test", "feedback", "model answer", "solution", "answer key"}


def _plant(path: Path, text: str, cell_type="code"):
    nb = nbformat.read(path, as_version=4)
    new = nbformat.v4.new_code_cell(text) if cell_type == "code" else nbformat.v4.new_markdown_cell(text)
    nb.cells.insert(3, new)
    path.write_text(nbformat.writes(nb), encoding="utf-8")


def test_planted_leaks_are_caught(demo, tmp_path):
    copy = tmp_path / "copy"
    for folder in ("source", "release", "notebooks", "lmmcourse"):
        shutil.copytree(demo / folder, copy / folder)
    release = copy / "release" / "demo" / "demo.ipynb"
    notebook = copy / "notebooks" / "demo.ipynb"
    # a solution line and a hidden test line (with different spacing), in the student version
    _plant(release, "mean_demo = float(np.mean([1, 2, 3, 4]))\n"
                    "assert_close(mean_demo,  np.mean(np.arange(1, 5)) + 0 * 987654321,\n"
                    "    tol=0.01, what=\"the mean\")")
    # a feedback sentence, as prose in the self-study edition
    _plant(notebook, "Hint: SECRET-FEEDBACK-A first letter. Good luck", cell_type="markdown")
    # the answer key with other quotes and spacing, in a text file of the package
    (copy / "lmmcourse" / "notes.txt").write_text("q9_1='b'\n", encoding="utf-8")
    # the model answer in a cell output
    nb = nbformat.read(notebook, as_version=4)
    nb.cells[2].outputs = [nbformat.v4.new_output(
        "stream", text="Model answer.\nSECRET-MODEL-ANSWER   because (1+2+3+4)/4.")]
    notebook.write_text(nbformat.writes(nb), encoding="utf-8")

    found = leaks.check(copy)
    got = {(f.path, f.kind) for f in found}
    assert ("release/demo/demo.ipynb", "solution") in got
    assert ("release/demo/demo.ipynb", "hidden test") in got
    assert ("notebooks/demo.ipynb", "feedback") in got
    assert ("notebooks/demo.ipynb", "model answer") in got
    assert ("lmmcourse/notes.txt", "answer key") in got
    assert all(f.path in {"release/demo/demo.ipynb", "notebooks/demo.ipynb", "lmmcourse/notes.txt"}
               for f in found)
    text = "\n".join(str(f) for f in found)
    assert "SECRET-FEEDBACK-A first letter." in text and "demo:test_q9_1" in text


def test_cli_exit_codes(demo, tmp_path, capsys):
    assert leaks.main(["--source", str(demo / "source"), str(demo / "release")]) == 0
    leaky = tmp_path / "leaky.md"
    leaky.write_text("The answer: SECRET-FEEDBACK-B right. And q9_1 = \"b\"\n", encoding="utf-8")
    assert leaks.main(["--source", str(demo / "source"), str(leaky)]) == 1
    out = capsys.readouterr().out
    assert "LEAK:" in out and "answer key" in out


# ----------------------------------------------------------------------------- the real lesson
@pytest.mark.skipif(not HAS_MASTERS, reason="no masters in source/ yet")
def test_repository_student_files_are_clean():
    found = leaks.check(ROOT)
    assert found == [], "answers leak into student files:\n" + "\n".join(map(str, found))


@pytest.mark.skipif(not HAS_MASTERS, reason="no masters in source/ yet")
def test_real_masters_have_secrets_of_every_kind():
    secrets = leaks.collect_secrets(ROOT / "source")
    kinds = {s.kind for s in secrets}
    assert {"hidden test", "feedback", "model answer", "answer key"} <= kinds
    # every multiple-choice (and yes/no) key of every master is among the answer keys
    keys = {s.origin for s in secrets if s.kind == "answer key"}
    choice = [f"{path.stem}:{cell.metadata['nbgrader']['grade_id'][len('test_'):]}"
              for path in (ROOT / "source").glob("*/*.ipynb")
              for cell in nbformat.read(path, as_version=4).cells
              if "grade_choice(" in cell.source and cell.metadata.get("nbgrader", {}).get("grade")]
    assert choice and set(choice) <= keys


@pytest.mark.slow
@pytest.mark.skipif(not HAS_MASTERS, reason="no masters in source/ yet")
def test_real_build_is_clean_and_a_planted_leak_is_caught(tmp_path):
    shutil.copytree(ROOT / "source", tmp_path / "source")
    build.build(tmp_path, run_solutions=False, log=lambda *_: None)
    assert leaks.check(tmp_path) == []
    # every secret is found again in the solutions edition (so "clean" is meaningful)
    secrets = leaks.collect_secrets(tmp_path / "source")
    assert _all_found(secrets, leaks.scan([tmp_path / "solutions"], secrets)) == []
    # plant one feedback sentence and one hidden test line of a real master in a release notebook
    feedback = next(s for s in secrets if s.kind == "feedback")
    hidden = next(s for s in secrets if s.kind == "hidden test")
    target = sorted((tmp_path / "release").glob("*/*.ipynb"))[0]
    _plant(target, f"{feedback.fragment}\n\n{hidden.fragment}", cell_type="markdown")
    found = leaks.check(tmp_path)
    rel = str(target.relative_to(tmp_path))
    assert {(rel, "feedback", feedback.fragment), (rel, "hidden test", hidden.fragment)} <= \
        {(f.path, f.kind, f.fragment) for f in found}


def test_feedback_bank_is_scanned_as_json(demo, tmp_path):
    secrets = leaks.collect_secrets(demo / "source")
    bank = json.loads((demo / "lmmcourse" / "feedback_bank.json").read_text(encoding="utf-8"))
    path = tmp_path / "feedback_bank.json"
    path.write_text(json.dumps(bank), encoding="utf-8")
    assert leaks.scan([path], secrets) == []  # the build encodes everything
    bank["questions"]["q9_1"]["hint"] = "SECRET-FEEDBACK-D fourth."  # 25 characters: long enough
    path.write_text(json.dumps(bank), encoding="utf-8")
    found = leaks.scan([path], secrets)
    assert [(f.kind, f.origin, f.fragment) for f in found] == [
        ("feedback", "demo:test_q9_1", "SECRET-FEEDBACK-D fourth.")]


# ----------------------------------------------------------------------------- write-the-model tasks
def test_formula_key_ignores_spacing_order_and_intercept():
    key = ("sbp", frozenset({"age", "bmi"}))
    assert leaks.formula_key("sbp ~ age + bmi") == key
    assert leaks.formula_key("sbp~bmi+age") == key
    assert leaks.formula_key(" sbp ~ 1 + bmi +  age ") == key
    assert leaks.formula_key("sbp ~ age + scale(x + y)") == ("sbp", frozenset({"age", "scale(x+y)"}))
    assert leaks.formula_key("sbp ~ 1") is None  # no terms: says nothing about a task's answer
    assert leaks.formula_key("~age") is None  # no response (a re_formula)
    assert leaks.formula_key("a ~ b ~ c") is None
    found = leaks.formulas_in("fit 'y ~ b + a' or `y~a+b` or \"z ~ a\"; not y ~ c")
    assert found == {("y", frozenset({"a", "b"})): "'y ~ b + a'", ("z", frozenset({"a"})): '"z ~ a"'}


MODEL_TASK_NOTE = "**Activity 2.** Fit `m_demo` by REML; `score ~ hours` alone is not enough."
MODEL_CALL = ('grade_model(m_demo, data=pupils, formula=_f, groups="school",\n'
              '            reml=True, points=3, name="m_demo")')


def _add_model_task(master: Path, note: str = MODEL_TASK_NOTE):
    """A write-the-model task in the fixture master: the formula is given to grade_model by a name."""
    nb = nbformat.read(master, as_version=4)
    answer = {"grade": False, "grade_id": "m_demo", "locked": False, "schema_version": 3, "solution": True,
              "task": False}
    test = {"grade": True, "grade_id": "test_m_demo", "locked": True, "points": 3, "schema_version": 3,
            "solution": False, "task": False}
    cells = [
        nbformat.v4.new_markdown_cell(note),
        nbformat.v4.new_code_cell('m_demo = None  # your fitted model: smf.mixedlm(...).fit(...)\n'
                                  '### BEGIN SOLUTION\nm_demo = smf.mixedlm("score ~ hours + homework", '
                                  'pupils, groups="school").fit(reml=True)\n### END SOLUTION',
                                  metadata={"nbgrader": answer}),
        nbformat.v4.new_code_cell('check_format(m_demo, kind="model")\n### BEGIN HIDDEN TESTS\n'
                                  f'_f = "score ~ hours + homework"\n{MODEL_CALL}\n### END HIDDEN TESTS',
                                  metadata={"nbgrader": test}),
    ]
    for i, cell in enumerate(cells):
        cell["id"] = f"model-{i}"
    at = next(i for i, c in enumerate(nb.cells) if c.get("id") == "demo-09")
    nb.cells[at:at] = cells
    master.write_text(nbformat.writes(nb), encoding="utf-8")


@pytest.fixture(scope="module")
def model_demo(tmp_path_factory):
    """The fixture course with a write-the-model task, built (no execution)."""
    root = tmp_path_factory.mktemp("modelcourse")
    shutil.copytree(FIXTURE / "source", root / "source")
    _add_model_task(root / "source" / "demo" / "demo.ipynb")
    build.build(root, run_solutions=False, log=lambda *_: None)
    return root


def test_model_task_secrets(model_demo):
    secrets = leaks.collect_secrets(model_demo / "source")
    mine = {(s.kind, s.fragment) for s in secrets if s.origin == "demo:test_m_demo"}
    # hand-written from the cells of _add_model_task
    assert ("hidden test", 'grade_model(m_demo, data=pupils, formula=_f, groups="school", reml=True, '
            'points=3, name="m_demo")') in mine
    assert ("model formula", "score ~ hours + homework") in mine  # resolved through the name _f
    call = [s for s in secrets if s.kind == "hidden test" and s.fragment.endswith('name="m_demo")')
            and s.fragment.startswith("grade_model(")]
    assert len(call) == 1 and call[0].pattern is not None  # matched whatever the spacing and quotes
    # the visible format check and the visible formula of the prose are not secrets
    assert not any("check_format" in s.fragment or s.fragment == "score ~ hours" for s in secrets)


def test_a_formula_shown_to_students_is_no_secret(tmp_path):
    shutil.copytree(FIXTURE / "source", tmp_path / "source")
    _add_model_task(tmp_path / "source" / "demo" / "demo.ipynb",
                    note="**Activity 2.** Fit `score ~ homework+hours` by REML.")
    kinds = {s.kind for s in leaks.collect_secrets(tmp_path / "source")}
    assert "model formula" not in kinds and "hidden test" in kinds


def test_model_task_build_is_clean_and_planted_model_leaks_are_caught(model_demo, tmp_path):
    assert leaks.check(model_demo, paths=[model_demo / p for p in ("release", "notebooks", "lmmcourse")]) \
        == []
    secrets = leaks.collect_secrets(model_demo / "source")
    assert _all_found(secrets, leaks.scan([model_demo / "solutions"], secrets)) == []
    copy = tmp_path / "copy"
    for folder in ("source", "release", "notebooks", "lmmcourse"):
        shutil.copytree(model_demo / folder, copy / folder)
    # the hidden grading call on one line, other quotes and spacing
    _plant(copy / "release" / "demo" / "demo.ipynb",
           "grade_model( m_demo, data = pupils, formula=_f, groups='school', reml=True, points=3, "
           "name='m_demo' )")
    # the formula with the terms in another order, as a backticked hint and in a package file
    _plant(copy / "notebooks" / "demo.ipynb", "Hint: try `score~homework + hours`.", cell_type="markdown")
    (copy / "lmmcourse" / "hints.py").write_text("HINT = 'score ~ 1 + homework + hours'\n"
                                                 "OTHER = 'score ~ hours'\n", encoding="utf-8")
    found = {(f.path, f.kind, f.fragment) for f in leaks.check(copy)}
    assert found == {
        ("release/demo/demo.ipynb", "hidden test", "grade_model( m_demo, data = pupils, formula=_f, "
         "groups='school', reml=True, points=3, name='m_demo' )"),
        ("notebooks/demo.ipynb", "model formula", "`score~homework + hours`"),
        ("lmmcourse/hints.py", "model formula", "'score ~ 1 + homework + hours'"),
    }


@pytest.mark.skipif(not HAS_MASTERS, reason="no masters in source/ yet")
def test_real_model_tasks_hidden_calls_are_secrets_and_a_planted_one_is_caught(tmp_path):
    secrets = leaks.collect_secrets(ROOT / "source")
    calls = {s.origin: s for s in secrets if s.kind == "hidden test" and s.pattern
             and s.fragment.startswith("grade_model(")}
    tasks = {f"{path.stem}:{cell.metadata['nbgrader']['grade_id']}"
             for path in (ROOT / "source").glob("*/*.ipynb")
             for cell in nbformat.read(path, as_version=4).cells
             if "grade_model(" in cell.source and cell.metadata.get("nbgrader", {}).get("grade")}
    assert tasks and set(calls) == tasks
    # every call, reformatted as a student might paste it (one line, single quotes), is caught
    for origin, secret in sorted(calls.items()):
        pasted = secret.fragment.replace('"', "'").replace(", ", ",  ").replace("(", "( ", 1)
        leaky = tmp_path / "notes.md"
        leaky.write_text(f"Found this:\n\n    {pasted}\n", encoding="utf-8")
        found = leaks.scan([leaky], secrets)
        assert ("hidden test", origin) in {(f.kind, f.origin) for f in found}, pasted
