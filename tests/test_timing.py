"""Estimated time from the content: counts checked on notebooks counted by hand."""

from pathlib import Path

import nbformat
import pytest

from lmminstructor import timing
from lmminstructor.conventions import TIME_MARKER
from lmminstructor.preprocessors import fill_header

FIXTURE = Path(__file__).parent / "fixtures" / "course" / "source" / "demo" / "demo.ipynb"


def _meta(**kw):
    base = {"grade": False, "locked": False, "schema_version": 3, "solution": False, "task": False}
    return {"nbgrader": {**base, **kw}}


def tiny():
    """A small master whose workload is counted by hand in the tests below."""
    cells = nbformat.v4
    return cells.new_notebook(cells=[
        # 1 (Title) + 0 (comment) + 4 (The ICC is here) + 1 (inline formula) + 10 (displayed formula)
        # + 3 (More, Read, on: the tags are not words) = 19 words
        cells.new_markdown_cell("# Title\n\n" + TIME_MARKER + "\n\nThe ICC is $\\rho$ here.\n\n"
                                "$$Y_{ij} = \\beta_0 + u_j + e_{ij}$$\n\n"
                                "<details><summary>More</summary>Read on.</details>"),
        cells.new_code_cell("x = 1"),                                   # code cell
        cells.new_code_cell("widgets.variance_explorer(m=3)"),         # code cell + widget
        cells.new_code_cell("widgets.glossary()"),                     # code cell, not a widget
        # 7 words: Question, text, pick, one, of, a, b
        cells.new_markdown_cell("**Question** text: pick one of *a*, b."),
        cells.new_code_cell('q1_1 = None\n### BEGIN SOLUTION\nq1_1 = "a"\n### END SOLUTION',
                            metadata=_meta(grade_id="q1_1", solution=True)),
        cells.new_code_cell('check_format(q1_1)\n### BEGIN HIDDEN TESTS\ngrade_choice("q1_1", q1_1, key="a", '
                            'feedback={"a": "A", "b": "B", "c": "C", "d": "D"})\n### END HIDDEN TESTS',
                            metadata=_meta(grade_id="test_q1_1", grade=True, locked=True, points=1)),
        cells.new_code_cell("val = None\n### BEGIN SOLUTION\nval = 2\n### END SOLUTION",
                            metadata=_meta(grade_id="val", solution=True)),
        cells.new_code_cell('check_format(val, kind="number")\n### BEGIN HIDDEN TESTS\n'
                            "assert_close(val, 2, tol=0.1)\n### END HIDDEN TESTS",
                            metadata=_meta(grade_id="test_val", grade=True, locked=True, points=2)),
        # a reflection: its model answer is not read by the student
        cells.new_markdown_cell("Model answer with many words that are not counted at all here.",
                                metadata=_meta(grade_id="refl", grade=True, solution=True, points=2)),
    ])


def test_count_words():
    assert timing.count_words("Hello, world!") == 2
    assert timing.count_words("<!-- points-table -->") == 0
    assert timing.count_words("don't use 2.5 or well-known **bold**") == 6
    assert timing.count_words("a $x^2$ b") == 3
    assert timing.count_words("$$\na + b\n$$") == timing.DISPLAY_MATH_WORDS
    assert timing.count_words("| Part | Points |\n| --- | ---: |") == 2


def test_tiny_notebook_counted_by_hand():
    work = timing.workload(tiny())
    assert work == timing.Workload(words=26, code_cells=3, questions=1, activities=1, reflections=1,
                                   widgets=1)
    # 26/130 + 3 * 0.5 + 1.5 + 3 + 4 + 2 = 12.2 minutes, rounded to the nearest 5
    assert work.minutes == pytest.approx(12.2)
    assert timing.estimate_minutes(tiny()) == 10


def test_fixture_master_counted_by_hand():
    # words: "Demo section A tiny master used by the build tests" 10; question cell 14 (Question, 1, Which,
    # letter, comes, second, and a a b b c c d d); activity 12 (Activity, Compute, the, mean, of, 1, 2,
    # 3, 4, to, within, 0.01); reflection prompt 6 (Reflection, Why, is, the, mean, 2.5): 42 words.
    nb = nbformat.read(FIXTURE, as_version=4)
    work = timing.workload(nb)
    assert work == timing.Workload(words=42, code_cells=1, questions=1, activities=1, reflections=1,
                                   widgets=0)
    assert work.minutes == pytest.approx(42 / 130 + 0.5 + 1.5 + 3 + 4)  # 9.32
    assert timing.estimate_minutes(nb) == 10


def test_rounding():
    empty = nbformat.v4.new_notebook()
    assert timing.estimate_minutes(empty) == 5  # never below ROUND_TO
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x") for _ in range(15)])
    assert timing.workload(nb).minutes == 7.5 and timing.estimate_minutes(nb) == 10  # halves round up
    nb.cells.pop()
    assert timing.estimate_minutes(nb) == 5  # 7.0 minutes


def test_header_is_filled_and_a_missing_marker_is_tolerated():
    nb = fill_header(tiny())
    assert "*Estimated time: 10 minutes*" in nb.cells[0].source and TIME_MARKER not in nb.cells[0].source
    plain = tiny()
    plain.cells[0].source = "# Title"
    assert fill_header(plain).cells[0].source == "# Title"


def test_readme_times_are_the_computed_estimates():
    """The README's notebook table states each notebook's time as estimate_minutes computes it."""
    import re

    root = Path(__file__).resolve().parents[1]
    readme = (root / "README.md").read_text(encoding="utf-8")
    stated = dict(re.findall(r"^\| `(\w+\.ipynb)` \|[^\n]*\| (\d+) min \|$", readme, flags=re.M))
    masters = {p.name: p for p in (root / "source").glob("*/*.ipynb")}
    assert set(stated) == set(masters)
    for name, path in masters.items():
        assert int(stated[name]) == timing.estimate_minutes(nbformat.read(path, as_version=4)), name
