"""The nbgrader conventions of the lesson's masters, in one place.

A master (``source/<assignment>/<notebook>.ipynb``) is an nbgrader notebook written to the conventions of
``CONTRIBUTING.md``:

* an **answer cell** is a code cell marked as a solution (``grade_id`` = the answer variable, e.g.
  ``q1_2``), its answer between ``### BEGIN SOLUTION`` and ``### END SOLUTION``;
* a **test cell** is a locked, autograded code cell named ``test_<answer variable>`` holding a visible
  format check and, between ``### BEGIN HIDDEN TESTS`` and ``### END HIDDEN TESTS``, either one
  ``grade_choice(..., key=..., feedback={...})`` call (a multiple-choice **question**) or a numeric
  check (an **activity**);
* a **reflection** is a manually graded markdown cell whose whole text is the model answer and rubric;
* a markdown cell may hold the markers :data:`POINTS_MARKER` and :data:`TIME_MARKER`, which
  :mod:`lmminstructor.preprocessors` replaces by the points table and the estimated time.

Cell roles come from :mod:`nbgrader.utils` (``is_grade``, ``is_solution``, ``is_locked``); the region
delimiters are nbgrader's own defaults (``ClearSolutions``, ``ClearHiddenTests``) behind ``### ``. A master
is parsed once into a :class:`Master`, which the build, the leak scan and the autograding demo all read.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbformat import NotebookNode
from nbgrader.preprocessors import ClearHiddenTests, ClearSolutions
from nbgrader.utils import is_grade, is_locked, is_solution

from lmmcourse.grading import CHOICES

__all__ = [
    "CHOICES", "POINTS_MARKER", "TIME_MARKER", "SOLUTION_BEGIN", "SOLUTION_END", "HIDDEN_BEGIN",
    "HIDDEN_END", "STUB_LINES", "SOLUTION_REGION", "HIDDEN_REGION", "MARKER_LINE", "REFLECTION_PART",
    "QUESTION_PART",
    "ASSESSMENT_PART", "ACTIVITY_PART", "ConventionError", "GradeChoice", "Question", "Reflection",
    "Master", "nbgrader_meta", "grade_id", "is_grade", "is_solution", "is_locked", "is_answer_cell",
    "is_test_cell", "is_reflection_cell", "solution_regions", "hidden_regions", "unwrap", "strip_regions",
    "parse_grade_choice", "find_masters", "points_rows", "points_table",
]

#: Replaced by the points table of the notebook (in every edition).
POINTS_MARKER = "<!-- points-table -->"
#: Replaced by the estimated time of the notebook (in every edition), see :mod:`lmminstructor.timing`.
TIME_MARKER = "<!-- estimated-time -->"


def _default(cls, trait: str) -> str:
    return cls.class_traits()[trait].default()


SOLUTION_BEGIN = "### " + _default(ClearSolutions, "begin_solution_delimeter")
SOLUTION_END = "### " + _default(ClearSolutions, "end_solution_delimeter")
HIDDEN_BEGIN = "### " + _default(ClearHiddenTests, "begin_test_delimeter")
HIDDEN_END = "### " + _default(ClearHiddenTests, "end_test_delimeter")
#: The lines nbgrader puts in place of a code solution (its default Python stub).
STUB_LINES: tuple[str, ...] = tuple(_default(ClearSolutions, "code_stub")["python"].splitlines())


def _region(begin: str, end: str) -> re.Pattern:
    return re.compile(rf"^[ \t]*{re.escape(begin)}[ \t]*\n(.*?)^[ \t]*{re.escape(end)}[ \t]*(?:\n|\Z)",
                      re.S | re.M)


#: A solution region; group 1 is its body.
SOLUTION_REGION = _region(SOLUTION_BEGIN, SOLUTION_END)
#: A hidden-test region; group 1 is its body.
HIDDEN_REGION = _region(HIDDEN_BEGIN, HIDDEN_END)
#: Any delimiter line, with its line end.
MARKER_LINE = re.compile(
    "^[ \t]*(?:" + "|".join(re.escape(m) for m in (SOLUTION_BEGIN, SOLUTION_END, HIDDEN_BEGIN, HIDDEN_END))
    + ")[ \t]*(?:\n|$)", re.M)

REFLECTION_PART = "Reflection (graded by your instructor)"
QUESTION_PART = "Knowledge check"
ASSESSMENT_PART = "Assessment questions"
ACTIVITY_PART = "Python activity"
_QUESTION_ID = re.compile(r"test_q(\d+|f)_\d+$")


class ConventionError(ValueError):
    """A master breaks one of the conventions above; the message names the cell and the fix."""


# ----------------------------------------------------------------------------- cells
def nbgrader_meta(cell: NotebookNode) -> dict:
    """The cell's nbgrader metadata (empty for an ordinary cell)."""
    return cell.get("metadata", {}).get("nbgrader", {})


def grade_id(cell: NotebookNode) -> str:
    """The cell's nbgrader ``grade_id`` ("" for an ordinary cell)."""
    return nbgrader_meta(cell).get("grade_id", "") or ""


def is_answer_cell(cell: NotebookNode) -> bool:
    """A code cell in which the student writes an answer (nbgrader solution cell)."""
    return cell.cell_type == "code" and bool(is_solution(cell))


def is_test_cell(cell: NotebookNode) -> bool:
    """An autograded code cell (nbgrader grade cell that is not a solution)."""
    return cell.cell_type == "code" and bool(is_grade(cell)) and not is_solution(cell)


def is_reflection_cell(cell: NotebookNode) -> bool:
    """A manually graded written answer (markdown grade and solution cell)."""
    return cell.cell_type == "markdown" and bool(is_grade(cell)) and bool(is_solution(cell))


# ----------------------------------------------------------------------------- regions
def solution_regions(source: str) -> list[str]:
    """The bodies of every solution region of ``source``."""
    return SOLUTION_REGION.findall(source)


def hidden_regions(source: str) -> list[str]:
    """The bodies of every hidden-test region of ``source``."""
    return HIDDEN_REGION.findall(source)


def unwrap(source: str) -> str:
    """``source`` with every delimiter line removed and the regions' bodies kept (the instructor's view)."""
    return MARKER_LINE.sub("", source)


def strip_regions(source: str, solutions: bool = True, hidden: bool = True) -> str:
    """``source`` without its solution and/or hidden-test regions (what the student is shown)."""
    if solutions:
        source = SOLUTION_REGION.sub("", source)
    if hidden:
        source = HIDDEN_REGION.sub("", source)
    return source


# ----------------------------------------------------------------------------- grade_choice
@dataclass(frozen=True)
class GradeChoice:
    """The literal arguments of a ``grade_choice(qid, answer, key=..., feedback={...})`` call.

    ``key`` is None, and ``feedback`` holds only the string constants, when the call's arguments are not
    plain literals.
    """

    key: str | None
    feedback: dict[str, str]
    options: tuple[str, ...] = CHOICES
    literal: bool = True  # key, feedback and options are all written as literals (else: computed in the cell)

    @property
    def complete(self) -> bool:
        """The key is one of the options and every option has its feedback."""
        return self.key in self.options and set(self.feedback) == set(self.options)


def parse_grade_choice(code: str) -> GradeChoice | None:
    """The first ``grade_choice(...)`` call in ``code`` (e.g. a hidden-test region), or None.

    Returns None as well when ``code`` is not valid Python.
    """
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return None
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "grade_choice":
            kwargs = {k.arg: k.value for k in node.keywords}
            key = _literal(kwargs.get("key"))
            options = _literal(kwargs.get("options")) if "options" in kwargs else CHOICES
            feedback: dict[str, str] = {}
            fb = kwargs.get("feedback")
            if isinstance(fb, ast.Dict):
                for k, v in zip(fb.keys, fb.values, strict=True):
                    if isinstance(k, ast.Constant) and isinstance(v, ast.Constant) \
                            and isinstance(v.value, str):
                        feedback[str(k.value)] = v.value
            literal = (isinstance(key, str) and isinstance(options, list | tuple)
                       and isinstance(_literal(fb), dict))
            return GradeChoice(key if isinstance(key, str) else None, feedback,
                               tuple(options) if isinstance(options, list | tuple) else CHOICES, literal)
    return None


def _literal(node):
    if node is None:
        return None
    try:
        return ast.literal_eval(node)
    except ValueError:
        return None


# ----------------------------------------------------------------------------- the parsed master
@dataclass(frozen=True)
class Question:
    """An autograded test cell and the answer cell it checks.

    ``kind`` is ``"choice"`` (a hidden ``grade_choice``), ``"number"`` (a visible
    ``check_format(..., kind="number")``) or ``"other"``.
    """

    answer_id: str
    test_id: str
    points: float
    kind: str
    key: str | None = None
    options: tuple[str, ...] = ()
    feedback: dict[str, str] = field(default_factory=dict)
    source: str = ""  # the whole test cell, hidden regions included
    hidden: str = ""  # the hidden regions' bodies, joined

    @property
    def part(self) -> str:
        """The row of the points table this question counts in."""
        if _QUESTION_ID.match(self.test_id):
            return ASSESSMENT_PART if self.test_id.startswith("test_qf_") else QUESTION_PART
        return ACTIVITY_PART


@dataclass(frozen=True)
class Reflection:
    """A manually graded written answer: its model answer and rubric (``text``, without delimiters)."""

    grade_id: str
    points: float
    text: str
    source: str


@dataclass
class Master:
    """One master notebook, parsed once.

    Attributes
    ----------
    name : str
        The notebook's stem (``section1_linear_mixed_model``).
    assignment : str
        The nbgrader assignment (the folder under ``source/``).
    nb : NotebookNode
        The notebook itself.
    questions : list of Question
        Every autograded test cell, in order.
    answers : dict
        ``grade_id`` of every answer cell -> its source with the solution unwrapped.
    reflections : list of Reflection
    """

    name: str
    assignment: str
    nb: NotebookNode
    questions: list[Question]
    answers: dict[str, str]
    reflections: list[Reflection]

    @property
    def filename(self) -> str:
        return f"{self.name}.ipynb"

    @property
    def auto_points(self) -> float:
        """Points of the autograded test cells."""
        return sum(q.points for q in self.questions)

    @property
    def manual_points(self) -> float:
        """Points graded by hand (reflections and any other graded solution cell)."""
        return sum(float(nbgrader_meta(c).get("points", 0)) for c in self.nb.cells
                   if is_grade(c) and is_solution(c))

    @classmethod
    def load(cls, path: Path | str) -> Master:
        """Read ``source/<assignment>/<notebook>.ipynb``."""
        path = Path(path)
        return cls.from_notebook(nbformat.read(path, as_version=4), path.stem, path.parent.name)

    @classmethod
    def from_notebook(cls, nb: NotebookNode, name: str, assignment: str = "") -> Master:
        """Parse a master already read (nothing is checked: see :meth:`problems`)."""
        questions, answers, reflections = [], {}, []
        for cell in nb.cells:
            meta, gid = nbgrader_meta(cell), grade_id(cell)
            if is_answer_cell(cell) and gid:
                answers[gid] = unwrap(cell.source).rstrip()
            elif is_test_cell(cell):
                questions.append(_question(cell))
            elif is_reflection_cell(cell):
                reflections.append(Reflection(gid, float(meta.get("points", 0)), unwrap(cell.source).strip(),
                                              cell.source))
        return cls(name, assignment, nb, questions, answers, reflections)

    def problems(self) -> list[str]:
        """Every broken convention, as a sentence naming the cell and the fix (empty when all is well)."""
        out = []
        for q in self.questions:
            if not q.test_id.startswith("test_"):
                out.append(f"{self.name}: test cell {q.test_id!r} must be named test_<answer variable>")
            elif q.answer_id not in self.answers:
                out.append(f"{self.name}: test cell {q.test_id!r} has no answer cell {q.answer_id!r}")
            if q.kind == "choice" and not (q.key in q.options and set(q.feedback) == set(q.options)):
                out.append(f"{self.name}: {q.answer_id} needs a key among {q.options} and feedback "
                           "for every option")
        return out

    def points_rows(self) -> list[tuple[str, float]]:
        """``(part, points)`` for every graded cell, in notebook order."""
        return points_rows(self.nb)


def _question(cell: NotebookNode) -> Question:
    gid = grade_id(cell)
    hidden = "".join(hidden_regions(cell.source))
    choice = parse_grade_choice(hidden)
    points = float(nbgrader_meta(cell).get("points", 0))
    answer = gid[len("test_"):] if gid.startswith("test_") else gid
    if choice is not None and choice.literal:
        return Question(answer, gid, points, "choice", choice.key, choice.options, choice.feedback,
                        cell.source, hidden)
    kind = "number" if re.search(r'kind\s*=\s*"number"', cell.source) else "other"
    return Question(answer, gid, points, kind, source=cell.source, hidden=hidden)


def find_masters(source: Path | str) -> Iterator[tuple[str, Path]]:
    """``(assignment, path)`` of every master under ``source/<assignment>/``, in a stable order."""
    for path in sorted(Path(source).glob("*/*.ipynb")):
        if ".ipynb_checkpoints" not in path.parts:
            yield path.parent.name, path


# ----------------------------------------------------------------------------- points
def points_rows(nb: NotebookNode) -> list[tuple[str, float]]:
    """``(part, points)`` for every graded cell of ``nb`` (a master or an nbgrader edition of it)."""
    rows = []
    for cell in nb.cells:
        if not is_grade(cell):
            continue
        points = float(nbgrader_meta(cell).get("points", 0))
        if cell.cell_type == "markdown" or is_solution(cell):
            rows.append((REFLECTION_PART, points))
        else:
            rows.append((_question(cell).part, points))
    return rows


def points_table(nb: NotebookNode) -> str:
    """Markdown table of the points per part and in total ("" when nothing is graded)."""
    totals: dict[str, list[float]] = {}
    for part, pts in points_rows(nb):
        totals.setdefault(part, []).append(pts)
    if not totals:
        return ""
    lines = ["| Part | Items | Points |", "| --- | ---: | ---: |"]
    for part, pts in totals.items():
        lines.append(f"| {part} | {len(pts)} | {sum(pts):g} |")
    lines.append(f"| **Total** | {sum(len(p) for p in totals.values())} | "
                 f"**{sum(sum(p) for p in totals.values()):g}** |")
    return "**Points in this notebook**\n\n" + "\n".join(lines)
