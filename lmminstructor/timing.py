"""How long a notebook takes, estimated from its content instead of typed by hand.

The estimate adds up what a student does in the notebook:

* **reading**: the words of every markdown cell a student reads (reflection model answers are not
  shown, so they do not count) at :data:`READING_WPM` words per minute. Carver's reading "gears" for
  college readers (Carver, R. P. (1990). *Reading Rate: A Review of Research and Theory*. Academic
  Press) put reading to learn near 200 wpm and reading to memorise near 140 wpm; text dense with
  notation and new terms is read at the slow end, so we take 130 wpm.
  ``<details>`` blocks count (the estimate is for a student who opens them). A word is a run of letters
  or digits; HTML comments and tags are not words; an inline formula
  (``$...$``) counts as one word and a displayed formula (``$$...$$``) as :data:`DISPLAY_MATH_WORDS`;
* **code**: :data:`CODE_CELL_MINUTES` for every code cell that is neither an answer nor a test cell
  (read it, run it, look at its output);
* **questions**: :data:`QUESTION_MINUTES` per multiple-choice question (an autograded test cell with a
  hidden ``grade_choice``; its answer cell is included);
* **activities**: :data:`ACTIVITY_MINUTES` per other autograded test cell (compute an answer in Python);
* **reflections**: :data:`REFLECTION_MINUTES` per manually graded written answer;
* **widgets**: :data:`WIDGET_MINUTES` extra per code cell that opens an interactive widget
  (``widgets.<name>(...)``, the glossary excepted: it is looked up, not explored).

The total is rounded to the nearest :data:`ROUND_TO` minutes (at least :data:`ROUND_TO`). The build writes
it into the notebook header in place of :data:`~lmminstructor.conventions.TIME_MARKER`.
``python -m lmminstructor.timing`` prints the estimate of every master with its parts.
"""

from __future__ import annotations

import math
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbformat import NotebookNode

from .conventions import Master, find_masters, is_answer_cell, is_reflection_cell, is_solution, is_test_cell
from .paths import SOURCE

__all__ = ["READING_WPM", "DISPLAY_MATH_WORDS", "CODE_CELL_MINUTES", "QUESTION_MINUTES", "ACTIVITY_MINUTES",
           "REFLECTION_MINUTES", "WIDGET_MINUTES", "ROUND_TO", "Workload", "workload", "estimate_minutes",
           "time_line", "count_words", "main"]

READING_WPM = 130
DISPLAY_MATH_WORDS = 10
CODE_CELL_MINUTES = 0.5
QUESTION_MINUTES = 1.5
ACTIVITY_MINUTES = 3.0
REFLECTION_MINUTES = 4.0
WIDGET_MINUTES = 2.0
ROUND_TO = 5

_COMMENT = re.compile(r"<!--.*?-->", re.S)
_TAG = re.compile(r"</?[A-Za-z][^>]*>")
_DISPLAY = re.compile(r"\$\$.+?\$\$", re.S)
_INLINE = re.compile(r"(?<![\\$])\$[^$\n]+?\$")
_WORD = re.compile(r"[^\W_]+(?:['’.-][^\W_]+)*")
_WIDGET = re.compile(r"\bwidgets\.(\w+)\s*\(")


def count_words(markdown: str) -> int:
    """Words of a markdown text as read (see the module docstring for what counts as a word)."""
    text = _TAG.sub(" ", _COMMENT.sub(" ", markdown))
    displays = len(_DISPLAY.findall(text))
    text = _DISPLAY.sub(" ", text)
    inline = len(_INLINE.findall(text))
    text = _INLINE.sub(" ", text)
    return len(_WORD.findall(text)) + inline + DISPLAY_MATH_WORDS * displays


@dataclass(frozen=True)
class Workload:
    """What a student reads and does in one notebook."""

    words: int
    code_cells: int
    questions: int
    activities: int
    reflections: int
    widgets: int

    @property
    def minutes(self) -> float:
        """Unrounded total, in minutes."""
        return (self.words / READING_WPM + self.code_cells * CODE_CELL_MINUTES
                + self.questions * QUESTION_MINUTES + self.activities * ACTIVITY_MINUTES
                + self.reflections * REFLECTION_MINUTES + self.widgets * WIDGET_MINUTES)


def workload(nb: NotebookNode) -> Workload:
    """Count the reading and the tasks of a master (or of its nbgrader edition)."""
    words = code = widgets = 0
    for cell in nb.cells:
        if cell.cell_type == "markdown" and not is_solution(cell):
            words += count_words(cell.source)
        elif cell.cell_type == "code" and not (is_answer_cell(cell) or is_test_cell(cell)):
            code += 1
            if any(not name.startswith("glossary") for name in _WIDGET.findall(cell.source)):
                widgets += 1
    master = Master.from_notebook(nb, "")
    choice = sum(1 for q in master.questions if q.kind == "choice")
    reflections = sum(1 for c in nb.cells if is_reflection_cell(c))
    return Workload(words, code, choice, len(master.questions) - choice, reflections, widgets)


def estimate_minutes(nb: NotebookNode) -> int:
    """Estimated minutes to work through ``nb``, rounded to the nearest :data:`ROUND_TO` (at least that).

    Parameters
    ----------
    nb : NotebookNode
        A master, or its nbgrader student version (the nbgrader metadata tells the cell roles).

    Returns
    -------
    int
        ``ROUND_TO * max(1, round(total / ROUND_TO))`` with halves rounded up, where ``total`` is
        ``words / READING_WPM + CODE_CELL_MINUTES * code cells + QUESTION_MINUTES * questions
        + ACTIVITY_MINUTES * activities + REFLECTION_MINUTES * reflections + WIDGET_MINUTES * widgets``.
    """
    total = workload(nb).minutes
    return ROUND_TO * max(1, math.floor(total / ROUND_TO + 0.5))


def time_line(minutes: int) -> str:
    """The header line that replaces the time marker."""
    return f"*Estimated time: {minutes} minutes*"


def main(argv: list[str] | None = None) -> int:
    """Print the workload and estimate of every master under ``source/`` (or the folder given)."""
    source = Path(argv[0]) if argv else SOURCE
    print(f"{'notebook':40} {'words':>6} {'code':>5} {'quest':>5} {'activ':>5} {'refl':>5} {'widg':>5} "
          f"{'min':>6} {'est.':>5}")
    for _, path in find_masters(source):
        nb = nbformat.read(path, as_version=4)
        w = workload(nb)
        print(f"{path.name:40} {w.words:6d} {w.code_cells:5d} {w.questions:5d} {w.activities:5d} "
              f"{w.reflections:5d} {w.widgets:5d} {w.minutes:6.1f} {estimate_minutes(nb):5d}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
