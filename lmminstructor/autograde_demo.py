"""Autograding demonstration: release, submit, autograde, give feedback and export grades for a mock class.

``python -m lmminstructor.autograde_demo`` (``make autograde-demo``) builds a throw-away nbgrader course in
``autograde-demo/`` (wiped first; git-ignored) from the masters in ``source/``, and for every assignment:

1. runs ``nbgrader generate_assignment`` (which also records the assignment in the gradebook);
2. writes synthetic submissions under ``submitted/<student>/<assignment>/``, made from the student version
   by filling the answer cells programmatically (see :data:`SCENARIOS`): a perfect one, a blank one, one
   right on half of the autograded points, eight broken ones (deleted answer or test cell, edited test
   cells, a cell that raises, an infinite loop, an answer of the wrong type, a renamed notebook, a notebook
   that is not valid JSON) and, in an assignment with a write-the-model task (a hidden ``grade_model``
   test), five typical mistakes in that task (:data:`MODEL_MISTAKES`: the model stored under another name,
   a fit that does not converge, a formula that raises, a cell slower than the time limit, the other
   estimation method), every other answer right;
3. autogrades **one student at a time**, so a submission that breaks nbgrader cannot take the rest of the
   class with it, and records what went wrong for each student;
4. runs ``generate_feedback`` and exports the gradebook to ``grades.csv`` (``nbgrader export``);
5. prints a summary: student, assignment, autograded score, maximum, the score the scenario should get
   (computed from the nbgrader metadata of the master and the outcome each scenario declares for the cell
   it breaks, never typed), and notes.

The exit code is 0 when every scenario got the score (or the reported error) it should, else 1.

The answer key of the synthetic students is read from the masters (the solution regions and the ``key=``
of each hidden ``grade_choice``), which only the instructor has. The model mistakes are transformations
of the master's own solution code (rename the answer variable; ``method="bfgs", maxiter=1``; misspell a
term of the formula; sleep past the time limit first; the estimation method the task does not ask for),
so they follow the master when its model changes.

The per-cell time limit of the demo (:data:`DEFAULT_TIMEOUT`) is shorter than the course's 60 s, so that
the submissions stopped by it (the infinite loop, the slow model cell) do not make the demo long; it is
still several times the slowest cell of the masters.
"""

from __future__ import annotations

import argparse
import ast
import copy
import json
import logging
import re
import shutil
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbformat import NotebookNode

from lmmcourse.grading import MODEL_WEIGHTS

from .conventions import (
    Master,
    Question,
    grade_id,
    is_answer_cell,
    is_grade,
    is_solution,
    is_test_cell,
    solution_regions,
    strip_regions,
    unwrap,
)
from .nbgrader_run import KEPT, autograde_keeping_previous, run_converter
from .paths import NBGRADER_CONFIG, ROOT

__all__ = ["SCENARIOS", "MODEL_SCENARIOS", "MODEL_MISTAKES", "COURSE_ID", "DEFAULT_TIMEOUT",
           "AssignmentKey", "ModelTask", "ModelMistake", "Expected", "Row", "analyse_master", "wrong_answer",
           "wrong_type_answer", "model_mistake", "perfect_notebook", "make_submissions", "write_config",
           "make_course", "generate_assignment", "preflight", "cell_errors", "autograde_student",
           "gradebook_scores", "export_grades", "grade_assignment", "format_table", "run_demo", "main"]

DEFAULT_COURSE = ROOT / "autograde-demo"
COURSE_ID = "lmm-continuous"
#: Seconds per cell in the demo course (the course's own config says 60; the slowest master cell takes
#: about 10 s on a busy machine).
DEFAULT_TIMEOUT = 30
WRONG_NUMBER = 123456789.0  # an answer no question of the lesson has
CRASH_LINE = 'raise RuntimeError("simulated crash in a student\'s cell")'
MARKER = "# --- written by lmminstructor.autograde_demo for a throw-away course"
#: Markers of demo folders written before the instructor tools had their own package.
OLD_MARKERS = ("# --- written by lmmcourse.autograde_demo for a throw-away course",)
LOOP_LINES = "while True:  # simulated infinite loop\n    pass"
#: (student id, what the submission is). The order is the order of grading.
SCENARIOS = (
    ("perfect", "every answer right"),
    ("blank", "the student version submitted unchanged"),
    ("half", "right on half of the autograded points, wrong (right type) on the rest"),
    ("no_answer_cell", "the answer cell of one question deleted"),
    ("no_test_cell", "the test cell of one question deleted (nbgrader restores it)"),
    ("edited_tests", "every test cell replaced by `pass`, one answer wrong (nbgrader restores the tests)"),
    ("raises", "an answer cell that raises before setting the answer"),
    ("infinite_loop", "an answer cell stuck in `while True: pass` (stopped by the cell timeout)"),
    ("wrong_type", "an answer of the wrong type (3 instead of a letter)"),
    ("renamed", "the notebook submitted under another name"),
    ("bad_json", "a notebook file that is not valid JSON"),
)
#: Mistakes in a write-the-model task (only in assignments that have one; every other answer right).
MODEL_SCENARIOS = (
    ("model_wrong_name", "write-the-model task: the fitted model stored under another name"),
    ("model_no_convergence", "write-the-model task: a fit that stops before converging (bfgs, maxiter=1)"),
    ("model_formula_error", "write-the-model task: a misspelt term, so the formula raises"),
    ("model_too_slow", "write-the-model task: the cell sleeps past the time limit before the fit"),
    ("model_wrong_method", "write-the-model task: fitted by ML instead of REML (or the other way round)"),
)
SCENARIOS = SCENARIOS + MODEL_SCENARIOS


# ----------------------------------------------------------------------------- answer key from a master
def wrong_answer(q: Question) -> str | None:
    """Code for the answer cell that gives a wrong answer of the right type (None: leave the stub)."""
    if q.kind == "choice":
        wrong = next(o for o in q.options if o != q.key)
        return f"{q.answer_id} = {wrong!r}"
    if q.kind == "number":
        return f"{q.answer_id} = {WRONG_NUMBER!r}"
    return None


def wrong_type_answer(q: Question) -> str:
    """Code for the answer cell that gives an answer of the wrong type."""
    return f'{q.answer_id} = {"3" if q.kind != "number" else repr("b")}'


@dataclass(frozen=True)
class ModelTask:
    """A write-the-model task: an answer cell graded by a hidden ``grade_model(...)`` call.

    ``stub`` is the answer cell without its solution region (what the student is given), ``solution`` the
    region's code, ``reml`` the estimation method the task asks for (the call's ``reml=``; None when the
    call does not say it as a literal), ``weights`` the points' shares per part of the model (the call's
    ``weights=``, else :data:`lmmcourse.grading.MODEL_WEIGHTS`), and ``context`` the master's code up to
    the answer cell (to read a formula given by a name).
    """

    answer_id: str
    points: float
    stub: str
    solution: str
    reml: bool | None = True
    weights: tuple[tuple[str, float], ...] = tuple(MODEL_WEIGHTS.items())
    context: str = ""

    def share(self, parts: Sequence[str] | None) -> float:
        """The share of the points lost with ``parts`` of the model wrong (None: every point)."""
        if parts is None:
            return 1.0
        weights = dict(self.weights)
        unknown = set(parts) - set(weights)
        if unknown:
            raise ValueError(f"unknown parts {sorted(unknown)}: use {sorted(weights)}")
        return sum(weights[p] for p in parts)


def _grade_model_call(code: str) -> ast.Call | None:
    """The first ``grade_model(...)`` call of ``code`` (None if there is none or it is not Python)."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return None
    for node in ast.walk(tree):
        func = getattr(node, "func", None)
        if isinstance(node, ast.Call) and (getattr(func, "id", None) or getattr(func, "attr", None)) \
                == "grade_model":
            return node
    return None


def _model_tasks(master: Master) -> dict[str, ModelTask]:
    """Every write-the-model task of ``master``, by answer variable."""
    cells = {grade_id(c): (i, c) for i, c in enumerate(master.nb.cells) if grade_id(c)}
    tasks = {}
    for q in master.questions:
        call = _grade_model_call(q.hidden)
        if call is None or q.answer_id not in cells:
            continue
        i, answer = cells[q.answer_id]
        kwargs = {k.arg: k.value for k in call.keywords}
        reml = kwargs.get("reml", ast.Constant(True))
        reml = reml.value if isinstance(reml, ast.Constant) and isinstance(reml.value, bool) else None
        if "reference" in kwargs:
            reml = None
        weights = MODEL_WEIGHTS
        if "weights" in kwargs:
            try:
                weights = ast.literal_eval(kwargs["weights"])
            except ValueError:
                weights = MODEL_WEIGHTS
        context = "\n".join(unwrap(c.source) if not is_test_cell(c) else strip_regions(c.source)
                            for c in master.nb.cells[:i] if c.cell_type == "code")
        tasks[q.answer_id] = ModelTask(q.answer_id, q.points, strip_regions(answer.source, hidden=False),
                                       "\n".join(solution_regions(answer.source)), reml,
                                       tuple(dict(weights).items()), context)
    return tasks


@dataclass
class AssignmentKey:
    """What the synthetic students need to know about one master: its questions and solutions."""

    assignment: str
    notebook: str  # file name, e.g. "section1_linear_mixed_model.ipynb"
    questions: list[Question]
    solutions: dict[str, str]  # grade_id of every answer cell -> its source with the solution unwrapped
    manual_points: float
    reflections: dict[str, str] = field(default_factory=dict)  # grade_id -> model answer
    model_tasks: dict[str, ModelTask] = field(default_factory=dict)  # answer variable -> task

    @classmethod
    def from_master(cls, master: Master) -> AssignmentKey:
        return cls(master.assignment, master.filename, list(master.questions), dict(master.answers),
                   master.manual_points, {r.grade_id: r.text for r in master.reflections},
                   _model_tasks(master))

    def model_target(self) -> ModelTask | None:
        """The write-the-model task the model mistakes break: the first one (None if there is none)."""
        return next((self.model_tasks[q.answer_id] for q in self.questions
                     if q.answer_id in self.model_tasks), None)

    @property
    def auto_points(self) -> float:
        return sum(q.points for q in self.questions)

    def target(self) -> Question:
        """The question the broken scenarios break: the first multiple-choice one (else the first)."""
        if not self.questions:
            raise ValueError(f"{self.notebook}: no autograded test cell, nothing to demonstrate")
        return next((q for q in self.questions if q.kind == "choice"), self.questions[0])

    def half(self) -> list[Question]:
        """Questions answered right by the "half" student: points summing to half the total if possible.

        A subset-sum over the points of the test cells; when half cannot be reached exactly (an odd total
        of whole points), the largest sum below half.
        """
        goal = self.auto_points / 2
        reachable: dict[float, list[int]] = {0.0: []}
        for i, q in enumerate(self.questions):
            for total, idx in list(reachable.items()):
                new = total + q.points
                if new <= goal + 1e-9 and new not in reachable:
                    reachable[new] = idx + [i]
        best = max(reachable)
        return [self.questions[i] for i in reachable[best]]


def analyse_master(path: Path) -> AssignmentKey:
    """Read the questions, points, keys and solutions of one master notebook.

    Parameters
    ----------
    path : Path
        ``source/<assignment>/<notebook>.ipynb``.

    Returns
    -------
    AssignmentKey
    """
    return AssignmentKey.from_master(Master.load(path))


# ----------------------------------------------------------------------------- write-the-model mistakes
@dataclass(frozen=True)
class ModelMistake:
    """A typical mistake in a write-the-model task and the outcome it should have.

    ``lost`` names the parts of the model (keys of :data:`lmmcourse.grading.MODEL_WEIGHTS`) the mistake
    costs, as documented by :func:`lmmcourse.grading.grade_model`; None means the task earns nothing (no
    fitted model reaches the test, or the answer variable is not set).
    """

    what: str
    lost: tuple[str, ...] | None


#: student id -> the mistake and what it costs in the task (the rest of the submission is right).
MODEL_MISTAKES: dict[str, ModelMistake] = {
    "model_wrong_name": ModelMistake("model stored under another name: the answer variable stays None",
                                     None),
    "model_no_convergence": ModelMistake("fit stopped before converging: only the estimates are not "
                                         "credited", ("estimates",)),
    "model_formula_error": ModelMistake("misspelt term: the formula raises, no model", None),
    "model_too_slow": ModelMistake("cell stopped by the time limit before the fit", None),
    "model_wrong_method": ModelMistake("other estimation method: the method (and so the estimates) not "
                                       "credited", ("method", "estimates")),
}


def _other_name(answer: str) -> str:
    """A plausible wrong name for the answer variable: ``m1`` -> ``model1``, ``m_age`` -> ``model_age``."""
    renamed = re.sub(r"^m(?=_|\d)", "model", answer)
    return renamed if renamed != answer else f"my_{answer}"


def _misspell(formula: str) -> str:
    """``formula`` with one term misspelt (the second plain one if any): ``smoker`` -> ``smokes``."""
    lhs, sep, rhs = formula.partition("~")
    words = [t.strip() for t in rhs.split("+") if re.fullmatch(r"\s*[A-Za-z_]\w*\s*", t)]
    if not sep or not words:
        raise ValueError(f"no term to misspell in the formula {formula!r}")
    word = words[1] if len(words) > 1 else words[0]
    wrong = word[:-1] + ("s" if word[-1] != "s" else "z") if len(word) > 2 else word + "x"
    return lhs + sep + re.sub(rf"(?<![\w.]){re.escape(word)}(?![\w(])", wrong, rhs, count=1)


_SAFE_NODES = (ast.Expression, ast.Constant, ast.Name, ast.Load, ast.BinOp, ast.Add, ast.Call, ast.Attribute,
               ast.keyword, ast.JoinedStr, ast.FormattedValue)


def _known_strings(code: str) -> dict[str, str]:
    """Names bound to strings in ``code`` (in order), evaluated when made only of strings and names.

    ``f_m1 = "y ~ a"``, ``f_m2 = f_m1 + " + b"``, ``f = f_m2.replace("a", "c")``: the master's formulas,
    which the instructor wrote; anything else (data, subscripts, other calls) is skipped.
    """
    known: dict[str, str] = {}
    for block in re.split(r"\n(?=\S)", code):  # top-level statements, so one bad cell does not hide others
        try:
            tree = ast.parse(block)
        except SyntaxError:
            continue
        for node in tree.body:
            if not (isinstance(node, ast.Assign) and len(node.targets) == 1
                    and isinstance(node.targets[0], ast.Name)):
                continue
            expr = ast.Expression(node.value)
            names = {n.id for n in ast.walk(expr) if isinstance(n, ast.Name)}
            if not all(isinstance(n, _SAFE_NODES) for n in ast.walk(expr)) or not names <= set(known):
                continue
            try:
                value = eval(compile(expr, "<master>", "eval"), {"__builtins__": {}}, dict(known))  # noqa: S307
            except Exception:  # noqa: BLE001 - not a plain string expression
                continue
            if isinstance(value, str):
                known[node.targets[0].id] = value
    return known


def _fit_parts(tree: ast.Module, answer: str) -> tuple[ast.Call, ast.Call | None]:
    """The ``.fit(...)`` call whose result is stored in ``answer`` (last such statement), and the
    ``mixedlm(...)`` call inside it (None if the model is not built in the same statement)."""
    found = None
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == answer
                                                for t in node.targets):
            fits = [n for n in ast.walk(node.value) if isinstance(n, ast.Call)
                    and isinstance(n.func, ast.Attribute) and n.func.attr == "fit"]
            if fits:
                models = [n for n in ast.walk(fits[0]) if isinstance(n, ast.Call)
                          and (getattr(n.func, "attr", None) or getattr(n.func, "id", None)) == "mixedlm"]
                found = (fits[0], models[0] if models else None)
    if found is None:
        raise ValueError(f"the solution does not store a .fit(...) result in {answer}")
    return found


def _set_keywords(call: ast.Call, **values) -> None:
    call.keywords = [k for k in call.keywords if k.arg not in values]
    call.keywords += [ast.keyword(arg=k, value=ast.Constant(v)) for k, v in values.items()]


def model_mistake(task: ModelTask, student: str, timeout: int = DEFAULT_TIMEOUT) -> str:
    """The answer cell of ``task`` with the mistake of scenario ``student`` (see :data:`MODEL_MISTAKES`).

    The stub line stays first (``m1 = None  # ...``, as given to the student), followed by the master's
    solution code transformed: the answer variable renamed; ``method="bfgs", maxiter=1`` in the fit;
    one term of the formula misspelt (a formula given by a name is first read from the master's code);
    ``time.sleep`` well past the time limit before the code; ``reml=`` set to the method the task does not
    ask for.
    """
    stub = task.stub.rstrip()
    if student == "model_too_slow":
        return (f"{stub}\nimport time\n\ntime.sleep({10 * int(timeout)})  # longer than the time limit\n"
                f"{task.solution.strip()}")
    tree = ast.parse(task.solution)
    fit, model = _fit_parts(tree, task.answer_id)
    if student == "model_wrong_name":
        new = _other_name(task.answer_id)
        for node in ast.walk(tree):
            if isinstance(node, ast.Name) and node.id == task.answer_id:
                node.id = new
    elif student == "model_no_convergence":
        _set_keywords(fit, method="bfgs", maxiter=1)
    elif student == "model_wrong_method":
        asked = task.reml
        if asked is None:  # not stated in the test: flip what the solution does
            given = next((k.value for k in fit.keywords if k.arg == "reml"), ast.Constant(True))
            asked = not (given.value if isinstance(given, ast.Constant) else True)
        _set_keywords(fit, reml=not asked)
    elif student == "model_formula_error":
        if model is None:
            raise ValueError(f"{task.answer_id}: the solution does not call mixedlm(...) in the fitted "
                             "statement, so the formula cannot be misspelt")
        arg = model.args[0] if model.args else next(k.value for k in model.keywords if k.arg == "formula")
        if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
            formula = arg.value
        else:
            known = _known_strings(task.context + "\n" + task.solution)
            formula = known.get(arg.id) if isinstance(arg, ast.Name) else None
            if formula is None:
                raise ValueError(f"{task.answer_id}: cannot read the formula {ast.unparse(arg)} from the "
                                 "master's code (write it as a string or a name bound to a string)")
        wrong = ast.Constant(_misspell(formula))
        if model.args:
            model.args[0] = wrong
        else:
            _set_keywords(model, formula=wrong.value)
    else:
        raise ValueError(f"unknown model scenario {student!r}: use one of {sorted(MODEL_MISTAKES)}")
    return f"{stub}\n{ast.unparse(tree)}"


# ----------------------------------------------------------------------------- synthetic submissions
@dataclass
class Expected:
    """What a scenario should get: an autograded score, or a reported error (``score=None``)."""

    score: float | None
    why: str


def _cells_by_id(nb) -> dict[str, int]:
    return {grade_id(c): i for i, c in enumerate(nb.cells) if grade_id(c)}


def _fill(nb, key: AssignmentKey, right: set[str] | None = None):
    """Fill every answer cell with the master's solution; answers not in ``right`` are wrong.

    ``right=None`` means every answer right.
    """
    by_answer = {q.answer_id: q for q in key.questions}
    for cell in nb.cells:
        gid = grade_id(cell)
        if is_answer_cell(cell) and gid in key.solutions:
            q = by_answer.get(gid)
            if q is not None and right is not None and gid not in right:
                wrong = wrong_answer(q)
                cell.source = key.solutions[gid] + ("\n" + wrong if wrong else "\n" + f"{gid} = None")
            else:
                cell.source = key.solutions[gid]
    return nb


def _fill_reflections(nb, key: AssignmentKey):
    """Copy the master's manually graded answers in (so that they need grading, like a real answer)."""
    for cell in nb.cells:
        if grade_id(cell) in key.reflections:
            cell.source = key.reflections[grade_id(cell)]
    return nb


def perfect_notebook(course: Path, key: AssignmentKey) -> NotebookNode:
    """The released notebook with every answer right and the model answers in the reflections."""
    release = nbformat.read(course / "release" / key.assignment / key.notebook, as_version=4)
    return _fill(_fill_reflections(copy.deepcopy(release), key), key)


def make_submissions(course: Path, key: AssignmentKey,
                     scenarios: Sequence[tuple[str, str]] = SCENARIOS,
                     timeout: int = DEFAULT_TIMEOUT) -> dict[str, Expected]:
    """Write one submission per scenario under ``course/submitted/<student>/<assignment>/``.

    The model scenarios (:data:`MODEL_MISTAKES`) are written only when the assignment has a
    write-the-model task; ``timeout`` is the course's time limit per cell (the slow cell sleeps past it).

    Returns
    -------
    dict
        student id -> :class:`Expected` (the autograded score computed from the master's metadata), for
        every submission written.
    """
    release = nbformat.read(course / "release" / key.assignment / key.notebook, as_version=4)
    total, target = key.auto_points, key.target()
    task = key.model_target()
    expected: dict[str, Expected] = {}
    for student, _ in scenarios:
        if student in MODEL_MISTAKES and task is None:
            continue
        folder = course / "submitted" / student / key.assignment
        folder.mkdir(parents=True, exist_ok=True)
        nb = copy.deepcopy(release)
        name = key.notebook
        if student == "blank":
            expected[student] = Expected(0.0, "nothing answered")
        else:
            _fill_reflections(nb, key)
            if student == "half":
                right = key.half()
                _fill(nb, key, {q.answer_id for q in right})
                got = sum(q.points for q in right)
                expected[student] = Expected(got, f"right on {', '.join(q.answer_id for q in right)}")
            elif student == "edited_tests":
                _fill(nb, key, {q.answer_id for q in key.questions} - {target.answer_id})
                for cell in nb.cells:
                    if is_test_cell(cell):
                        cell.source = "# the student edited this test\npass"
                expected[student] = Expected(total - target.points,
                                             f"tests restored; {target.answer_id} wrong")
            else:
                _fill(nb, key)
                ids = _cells_by_id(nb)
                lost = Expected(total - target.points, f"{target.answer_id} lost")
                if student in MODEL_MISTAKES:
                    mistake = MODEL_MISTAKES[student]
                    nb.cells[ids[task.answer_id]].source = model_mistake(task, student, timeout)
                    lost = task.points * task.share(mistake.lost)
                    expected[student] = Expected(total - lost, f"{task.answer_id}: {mistake.what}")
                elif student == "perfect":
                    expected[student] = Expected(total, "all right")
                elif student == "no_answer_cell":
                    del nb.cells[ids[target.answer_id]]
                    expected[student] = lost
                elif student == "no_test_cell":
                    del nb.cells[ids[target.test_id]]
                    expected[student] = Expected(total, f"test {target.test_id} restored by nbgrader")
                elif student == "raises":
                    cell = nb.cells[ids[target.answer_id]]
                    cell.source = CRASH_LINE + "\n" + cell.source
                    expected[student] = lost
                elif student == "infinite_loop":
                    cell = nb.cells[ids[target.answer_id]]
                    cell.source = LOOP_LINES + "\n" + cell.source
                    expected[student] = lost
                elif student == "wrong_type":
                    nb.cells[ids[target.answer_id]].source = wrong_type_answer(target)
                    expected[student] = lost
                elif student == "renamed":
                    name = Path(key.notebook).stem + "-Copy1.ipynb"
                    expected[student] = Expected(None, f"notebook {key.notebook} missing")
                elif student == "bad_json":
                    expected[student] = Expected(None, "not valid JSON")
                else:
                    raise ValueError(f"unknown scenario {student!r}")
        text = nbformat.writes(nb)
        if student == "bad_json":
            text = text[: len(text) // 2]
        (folder / name).write_text(text, encoding="utf-8")
    return expected


# ----------------------------------------------------------------------------- course and nbgrader
def write_config(course: Path, timeout: int = DEFAULT_TIMEOUT, template: Path = NBGRADER_CONFIG) -> Path:
    """Write ``course/nbgrader_config.py``: the course's own config, with this folder as root.

    ``timeout`` (seconds per cell) overrides the course's 60 s (:data:`DEFAULT_TIMEOUT` in the demo).
    """
    text = template.read_text(encoding="utf-8") if template.exists() else "c = get_config()  # noqa: F821\n"
    text += (f"\n{MARKER}\n"
             f"c.CourseDirectory.root = {str(course.resolve())!r}\n"
             f"c.CourseDirectory.course_id = {COURSE_ID!r}\n"
             f"c.Execute.timeout = {int(timeout)}\n"
             f"c.ExecutePreprocessor.timeout = {int(timeout)}\n"
             "c.Execute.interrupt_on_timeout = True\n"
             "c.OverwriteCells.add_missing_cells = True\n")
    path = course / "nbgrader_config.py"
    path.write_text(text, encoding="utf-8")
    return path


def _check_throw_away(course: Path):
    """Refuse to wipe a folder that is not empty and was not made by this demo (e.g. a repository)."""
    course = Path(course).resolve()
    if not course.exists() or not any(course.iterdir()):
        return
    config = course / "nbgrader_config.py"
    made_here = config.exists() and any(m in config.read_text(encoding="utf-8")
                                        for m in (MARKER, *OLD_MARKERS))
    if not made_here or (course / ".git").exists() or course in (ROOT, *ROOT.parents, Path.home()):
        raise ValueError(f"{course} is not empty and was not made by the autograding demo: "
                         "choose a new folder with --course-dir (it is wiped first)")


def make_course(course: Path, source: Path = ROOT / "source", assignments: Sequence[str] | None = None,
                data: Path = ROOT / "data", timeout: int = DEFAULT_TIMEOUT) -> list[str]:
    """Wipe ``course`` and copy the masters (``source/``), ``data/`` and a config into it.

    Returns
    -------
    list of str
        The assignments copied (every sub-folder of ``source`` holding a notebook, or ``assignments``).
    """
    course = Path(course)
    found = sorted(p.name for p in Path(source).iterdir() if p.is_dir() and any(p.glob("*.ipynb")))
    chosen = list(assignments) if assignments else found
    unknown = sorted(set(chosen) - set(found))
    if unknown:
        raise ValueError(f"no master for {unknown} in {source}; found {found}")
    _check_throw_away(course)
    if course.exists():
        shutil.rmtree(course)
    course.mkdir(parents=True)
    for a in chosen:
        shutil.copytree(Path(source) / a, course / "source" / a,
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    if Path(data).exists():
        shutil.copytree(data, course / "data")
    write_config(course, timeout)
    return chosen


def generate_assignment(course: Path, assignment: str) -> None:
    """``nbgrader generate_assignment <assignment>`` in ``course`` (also adds it to the gradebook)."""
    from nbgrader.converters import GenerateAssignment

    ok, messages = run_converter(GenerateAssignment, course, assignment)
    if not ok:
        raise RuntimeError(f"nbgrader generate_assignment {assignment} failed:\n" + "\n".join(messages))


def preflight(course: Path, assignment: str, student: str, notebooks: list[str]) -> list[str]:
    """What is wrong with a submission, in words an instructor can act on (nbgrader's are cryptic).

    Missing, extra and unreadable notebooks (nbgrader then cannot grade the submission), and deleted or
    edited graded cells (nbgrader restores test cells from the master; a deleted answer scores 0).
    """
    folder = course / "submitted" / student / assignment
    found = sorted(p.name for p in folder.glob("*.ipynb"))
    problems = []
    for name in notebooks:
        if name not in found:
            problems.append(f"missing notebook {name}")
    for name in found:
        if name not in notebooks:
            hint = " (rename it to the released name and regrade)" if len(notebooks) == 1 else ""
            problems.append(f"extra notebook {name}{hint}")
            continue
        try:
            nb = nbformat.read(folder / name, as_version=4)
        except Exception as exc:  # noqa: BLE001 - nbformat raises several kinds
            problems.append(f"{name} is not a valid notebook ({type(exc).__name__}): ask for a re-submission")
            continue
        release = course / "release" / assignment / name
        if release.exists():
            problems += _cell_changes(nbformat.read(release, as_version=4), nb)
    return problems


def _cell_changes(release, submitted) -> list[str]:
    """Deleted answer/test cells and edited test cells of a submission, compared with the release."""
    mine = {grade_id(c): c for c in submitted.cells if grade_id(c)}
    out, edited = [], []
    for cell in release.cells:
        gid = grade_id(cell)
        if not gid or not (is_grade(cell) or is_solution(cell)):
            continue
        is_test = is_test_cell(cell)
        if gid not in mine:
            out.append(f"test cell {gid} deleted (restored from the master)" if is_test
                       else f"answer cell {gid} deleted")
        elif is_test and mine[gid].source.strip() != cell.source.strip():
            edited.append(gid)
    if len(edited) == 1:
        out.append(f"test cell {edited[0]} edited (restored from the master)")
    elif edited:
        shown = ", ".join(edited) if len(edited) <= 3 else f"{edited[0]}, ..., {edited[-1]}"
        out.append(f"{len(edited)} test cells edited ({shown}; restored from the master)")
    return out


def cell_errors(course: Path, assignment: str, student: str) -> list[str]:
    """Errors worth an instructor's attention in the autograded notebooks of one submission.

    An answer cell that raised (other than the untouched stub's ``NotImplementedError``) or timed out;
    a test cell whose visible format check failed (the answer has the wrong form, or the answer cell ran
    but left its variable unset, e.g. a model stored under another name); and a test cell that gave
    partial credit (its first line of feedback, which names the mistake).
    """
    out = []
    for path in sorted((course / "autograded" / student / assignment).glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        failed_answers = set()
        for cell in nb.cells:
            gid = grade_id(cell)
            if cell.cell_type != "code" or not gid:
                continue
            outputs = cell.get("outputs", [])
            errors = [o for o in outputs if o.get("output_type") == "error"]
            if is_answer_cell(cell) and errors:
                failed_answers.add(gid)
            if is_answer_cell(cell) and any(o.get("ename") == "CellTimeoutError" for o in errors):
                out.append(f"answer cell {gid} stopped by the time limit")
                continue
            for o in errors:
                ename, evalue = o.get("ename", ""), str(o.get("evalue", "")).strip()
                if is_answer_cell(cell) and ename != "NotImplementedError":
                    out.append(f"answer cell {gid} raised {ename}")
                elif is_grade(cell) and (evalue.startswith(("Your answer", "Expected a single")) or (
                        ename == "AnswerFormatError" and gid.removeprefix("test_") not in failed_answers)):
                    out.append(f"{gid}: {evalue.splitlines()[0] if evalue else ename}")
            if is_grade(cell) and not errors:
                partial = _partial_credit(cell)
                if partial:
                    out.append(f"{gid}: {partial}")
    return out


def _partial_credit(cell) -> str:
    """The feedback of a test cell that scored above 0 and below its points ("" otherwise)."""
    points = float(cell.metadata.get("nbgrader", {}).get("points", 0))
    for o in cell.get("outputs", []):
        if o.get("output_type") != "execute_result":
            continue
        try:
            got = float(o.get("data", {}).get("text/plain", ""))
        except ValueError:
            return ""
        if 0 < got < points:
            text = "".join(x.get("text", "") for x in cell.outputs if x.get("output_type") == "stream")
            first = text.strip().splitlines()[0] if text.strip() else ""
            return first or f"{got:g} of {points:g} points"
    return ""


def autograde_student(course: Path, assignment: str, student: str) -> tuple[bool, list[str]]:
    """``nbgrader autograde <assignment> --student <student>``, in this process, never raising.

    When nbgrader fails on a re-submission it deletes the student's previous autograded notebooks (the
    gradebook keeps the old scores); they are put back here, so nothing already graded is lost.
    """
    from nbgrader.converters import Autograde

    return autograde_keeping_previous(Autograde, course, assignment, student)


@dataclass
class Row:
    """One line of the summary."""

    student: str
    assignment: str
    score: float | None
    max_score: float
    expected: Expected | None = None
    manual: str = ""
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def as_expected(self) -> bool | None:
        if self.expected is None:
            return None
        if self.expected.score is None:  # an error must have been reported
            return bool(self.notes) and not self.score
        return self.score is not None and abs(self.score - self.expected.score) < 1e-9


def gradebook_scores(course: Path, assignment: str) -> dict[str, tuple[float | None, float, bool]]:
    """Per student: autograded score, its maximum, whether manual grading is pending (from the gradebook)."""
    from nbgrader.api import Gradebook, MissingEntry

    out = {}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", COURSE_ID) as gb:
        max_code = gb.find_assignment(assignment).max_code_score
        for student in gb.students:
            try:
                sub = gb.find_submission(assignment, student.id)
            except MissingEntry:
                continue
            out[student.id] = (float(sub.code_score), float(max_code), bool(sub.needs_manual_grade))
    return out


def export_grades(course: Path, to: Path | None = None) -> Path:
    """``nbgrader export --to grades.csv``: every student, assignment, score and maximum."""
    from nbgrader.api import Gradebook
    from nbgrader.plugins.export import CsvExportPlugin

    dest = Path(to) if to else course / "grades.csv"
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", COURSE_ID) as gb:
        CsvExportPlugin(to=str(dest)).export(gb)
    return dest


def grade_assignment(course: Path, assignment: str, students: Iterable[str],
                     expected: dict[str, Expected] | None = None, notebooks: list[str] | None = None,
                     log: Callable[..., object] = print) -> list[Row]:
    """Autograde ``students`` one at a time and read their scores back from the gradebook.

    A submission nbgrader cannot grade is reported in its row's notes (with what to do about it) and the
    batch goes on; nothing graded before it is touched.
    """
    notebooks = notebooks or sorted(p.name for p in (course / "release" / assignment).glob("*.ipynb"))
    rows = []
    for student in students:
        start = time.perf_counter()
        notes = preflight(course, assignment, student, notebooks)
        ok, messages = autograde_student(course, assignment, student)
        elapsed = time.perf_counter() - start
        if ok:
            notes += cell_errors(course, assignment, student)
        else:
            kept = KEPT in messages
            errors = [m for m in messages if m != KEPT and not m.startswith(("Attribute '", "Missing grade"))]
            reason = errors[-1] if errors and not notes else "see the notes before"
            notes.append(f"NOT AUTOGRADED ({reason}{'; ' + KEPT if kept else ''})")
        rows.append(Row(student, assignment, None, 0.0, (expected or {}).get(student), notes=notes,
                        seconds=elapsed))
        log(f"  {assignment}/{student}: {'graded' if ok else 'NOT GRADED'} ({elapsed:.1f} s)")
    scores = gradebook_scores(course, assignment)
    max_score = next((m for _, m, _ in scores.values()), 0.0)
    for row in rows:
        score, _, pending = scores.get(row.student, (None, max_score, False))
        failed = any(n.startswith("NOT AUTOGRADED") for n in row.notes)
        row.score, row.max_score = score, max_score
        row.manual = "-" if failed else ("pending" if pending else "")
    return rows


def _summarise_notes(notes: list[str]) -> str:
    return "; ".join(dict.fromkeys(re.sub(r"\s+", " ", n) for n in notes))


def format_table(rows: list[Row]) -> str:
    """The summary as a fixed-width text table."""
    head = ("student", "assignment", "score", "max", "expected", "ok", "manual", "notes")
    lines = []
    for r in rows:
        exp = "" if r.expected is None else ("error" if r.expected.score is None else f"{r.expected.score:g}")
        ok = {True: "yes", False: "NO", None: ""}[r.as_expected]
        score = "-" if r.score is None else f"{r.score:g}"
        lines.append((r.student, r.assignment, score, f"{r.max_score:g}", exp, ok, r.manual,
                      _summarise_notes(r.notes)))
    widths = [max(len(str(x)) for x in col) for col in zip(head, *lines, strict=False)]
    widths[-1] = 0
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    out = [fmt.format(*head).rstrip(), fmt.format(*("-" * max(w, 5) for w in widths)).rstrip()]
    out += [fmt.format(*line).rstrip() for line in lines]
    return "\n".join(out)


def run_demo(course: Path = DEFAULT_COURSE, source: Path = ROOT / "source",
             assignments: Sequence[str] | None = None, timeout: int = DEFAULT_TIMEOUT,
             scenarios: Sequence[tuple[str, str]] = SCENARIOS, feedback: bool = True,
             log: Callable[..., object] = print) -> list[Row]:
    """The whole demonstration; returns the summary rows (see the module docstring)."""
    course = Path(course).resolve()
    chosen = make_course(course, source, assignments, timeout=timeout)
    log(f"course folder: {course}")
    rows: list[Row] = []
    for assignment in chosen:
        master = next((course / "source" / assignment).glob("*.ipynb"))
        key = analyse_master(master)
        log(f"{assignment}: {len(key.questions)} autograded tests, {key.auto_points:g} points "
            f"(+ {key.manual_points:g} graded by hand)")
        generate_assignment(course, assignment)
        expected = make_submissions(course, key, scenarios, timeout)
        rows += grade_assignment(course, assignment, [s for s, _ in scenarios if s in expected], expected,
                                 notebooks=[key.notebook], log=log)
        if feedback:
            from nbgrader.converters import GenerateFeedback

            ok, messages = run_converter(GenerateFeedback, course, assignment)
            if not ok:
                log(f"  generate_feedback {assignment}: " + "; ".join(messages[-2:]))
    csv = export_grades(course)
    log(f"grades exported to {csv}")
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--course-dir", type=Path, default=DEFAULT_COURSE,
                        help="throw-away course folder (wiped first; default: autograde-demo/)")
    parser.add_argument("--source", type=Path, default=ROOT / "source", help="folder of the masters")
    parser.add_argument("--assignments", nargs="*", help="assignments to grade (default: all)")
    parser.add_argument("--scenarios", nargs="*", choices=[s for s, _ in SCENARIOS], metavar="STUDENT",
                        help="scenarios to run (default: all): " + ", ".join(s for s, _ in SCENARIOS))
    parser.add_argument("--timeout", type=int, default=DEFAULT_TIMEOUT,
                        help=f"seconds per cell (default {DEFAULT_TIMEOUT}; the course itself uses 60)")
    parser.add_argument("--no-feedback", action="store_true", help="skip generate_feedback")
    parser.add_argument("--json", type=Path, help="also write the summary rows to this JSON file")
    args = parser.parse_args(argv)
    for noisy in ("traitlets", "nbgrader", "alembic"):
        logging.getLogger(noisy).setLevel(logging.ERROR)
    try:
        chosen = [s for s in SCENARIOS if not args.scenarios or s[0] in args.scenarios]
        rows = run_demo(args.course_dir, args.source, args.assignments, args.timeout, scenarios=chosen,
                        feedback=not args.no_feedback)
    except (ValueError, RuntimeError, FileNotFoundError) as exc:
        print(f"autograde demo failed: {exc}", file=sys.stderr)
        return 2
    print()
    print(format_table(rows))
    bad = [r for r in rows if r.as_expected is False]
    print(f"\n{len(rows) - len(bad)} of {len(rows)} submissions graded as expected"
          + (f"; NOT as expected: {', '.join(f'{r.assignment}/{r.student}' for r in bad)}" if bad else "."))
    if args.json:
        args.json.write_text(json.dumps([{
            "student": r.student, "assignment": r.assignment, "score": r.score, "max": r.max_score,
            "expected": None if r.expected is None else r.expected.score, "as_expected": r.as_expected,
            "notes": r.notes, "seconds": round(r.seconds, 2)} for r in rows], indent=1), encoding="utf-8")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
