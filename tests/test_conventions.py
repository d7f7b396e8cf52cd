"""The nbgrader conventions layer: markers, cell roles, the grade_choice parser and the parsed master.

Expected values are read off the fixture master (tests/fixtures/course/source/demo/demo.ipynb) by hand.
"""

from pathlib import Path

import nbformat
import pytest
from nbgrader.preprocessors import ClearHiddenTests, ClearSolutions

from lmminstructor import conventions as cv
from lmminstructor.figures import has_image, is_plotting_cell, missing_figures

FIXTURE = Path(__file__).parent / "fixtures" / "course" / "source" / "demo" / "demo.ipynb"


@pytest.fixture(scope="module")
def master():
    return cv.Master.load(FIXTURE)


def test_markers_are_nbgraders_delimiters():
    assert cv.SOLUTION_BEGIN == "### " + ClearSolutions().begin_solution_delimeter == "### BEGIN SOLUTION"
    assert cv.SOLUTION_END == "### END SOLUTION"
    assert cv.HIDDEN_BEGIN == "### " + ClearHiddenTests().begin_test_delimeter == "### BEGIN HIDDEN TESTS"
    assert cv.HIDDEN_END == "### END HIDDEN TESTS"
    assert cv.STUB_LINES == ("# YOUR CODE HERE", "raise NotImplementedError()")


def test_regions_and_unwrap():
    hidden = "### BEGIN HIDDEN TESTS\nassert x == 2\n### END HIDDEN TESTS"
    src = "x = None\n### BEGIN SOLUTION\nx = 2\n### END SOLUTION\ncheck(x)\n" + hidden
    assert cv.solution_regions(src) == ["x = 2\n"]
    assert cv.hidden_regions(src) == ["assert x == 2\n"]
    assert cv.unwrap(src) == "x = None\nx = 2\ncheck(x)\nassert x == 2\n"
    assert cv.strip_regions(src) == "x = None\ncheck(x)\n"
    assert cv.strip_regions(src, hidden=False) == "x = None\ncheck(x)\n" + hidden


def test_grade_choice_parser():
    parsed = cv.parse_grade_choice('grade_choice("q", q, key="b", feedback={"a": "A.", "b": "B."}, '
                                   'options=("a", "b"))')
    assert parsed == cv.GradeChoice("b", {"a": "A.", "b": "B."}, ("a", "b"), True) and parsed.complete
    computed = cv.parse_grade_choice('grade_choice("k", k, key=_key, options=("yes", "no"), '
                                     'feedback={"yes": "Y.", "no": "N."})')
    assert computed.key is None and not computed.literal and computed.feedback == {"yes": "Y.", "no": "N."}
    assert cv.parse_grade_choice("assert_close(x, 1, tol=0.1)") is None
    assert cv.parse_grade_choice("grade_choice(") is None  # not Python


def test_cell_roles(master):
    cells = master.nb.cells
    roles = [(cv.is_answer_cell(c), cv.is_test_cell(c), cv.is_reflection_cell(c), bool(cv.is_locked(c)))
             for c in cells]
    # demo-04 answer, demo-05 test (locked), demo-07 answer, demo-08 test (locked), demo-10 reflection
    assert [i for i, r in enumerate(roles) if r[0]] == [4, 7]
    assert [i for i, r in enumerate(roles) if r[1]] == [5, 8]
    assert [i for i, r in enumerate(roles) if r[2]] == [10]
    assert [i for i, r in enumerate(roles) if r[3]] == [5, 8]


def test_master_parsed_once(master):
    assert (master.name, master.assignment, master.filename) == ("demo", "demo", "demo.ipynb")
    got = [(q.answer_id, q.test_id, q.kind, q.points, q.key, q.part) for q in master.questions]
    assert got == [("q9_1", "test_q9_1", "choice", 1.0, "b", "Knowledge check"),
                   ("mean_demo", "test_mean_demo", "number", 2.0, None, "Python activity")]
    assert master.questions[0].feedback["a"] == "SECRET-FEEDBACK-A first letter."
    assert master.answers == {
        "q9_1": 'q9_1 = None  # your answer: "a", "b", "c" or "d"\nq9_1 = "b"',
        "mean_demo": "mean_demo = None  # a number\nmean_demo = float(np.mean([1, 2, 3, 4]))"}
    [refl] = master.reflections
    assert (refl.grade_id, refl.points) == ("reflection_demo", 2.0)
    assert refl.text.startswith("**Model answer.** SECRET-MODEL-ANSWER")
    assert (master.auto_points, master.manual_points) == (3.0, 2.0)
    assert master.problems() == []


def test_points_table(master):
    assert cv.points_table(master.nb) == (
        "**Points in this notebook**\n\n| Part | Items | Points |\n| --- | ---: | ---: |\n"
        "| Knowledge check | 1 | 1 |\n| Python activity | 1 | 2 |\n"
        "| Reflection (graded by your instructor) | 1 | 2 |\n| **Total** | 3 | **5** |")


def test_problems_name_the_cell_and_the_fix():
    nb = nbformat.read(FIXTURE, as_version=4)
    nb.cells[5].metadata["nbgrader"]["grade_id"] = "q9_1_tests"
    nb.cells[5].source = nb.cells[5].source.replace('"d": "SECRET-FEEDBACK-D fourth.",', "")
    problems = cv.Master.from_notebook(nb, "demo").problems()
    assert problems == [
        "demo: test cell 'q9_1_tests' must be named test_<answer variable>",
        "demo: q9_1_tests needs a key among ('a', 'b', 'c', 'd') and feedback for every option"]


# ----------------------------------------------------------------------------- plotting cells
@pytest.mark.parametrize("source", [
    'plots.qq(m2.resid, title="Level 1");',
    "fig, ax = plt.subplots()",
    'sns.regplot(x=a, y=b, color=plots.palette(2)[1])',
    "df.plot(x='a')",
    "ax = plots.caterpillar(b)\nax.axvline(0)",
    "plt.style.use('x')\nplots.null_lrt_histogram(lrt);",
])
def test_plotting_cells(source):
    assert is_plotting_cell(source)


@pytest.mark.parametrize("source", [
    "_ = plots.use_style()",
    "import matplotlib.pyplot as plt\nimport seaborn as sns",
    "colours = plots.palette(3)",
    "plt.close('all')",
    "sns.set_theme()",
    "# plots.qq(x)\nprint('plt.show()')",
    "widgets.caterpillar_switch(models)",
    "plots.qq(",
])
def test_not_plotting_cells(source):
    assert not is_plotting_cell(source)


def test_missing_figures():
    image = nbformat.v4.new_output("display_data", data={"image/png": "iVBOR", "text/plain": "<Figure>"})
    text = nbformat.v4.new_output("execute_result", data={"text/plain": "<Axes: >"}, execution_count=1)
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("plots.qq(x)", id="with", outputs=[text, image]),
        nbformat.v4.new_code_cell("plots.qq(y)", id="without", outputs=[text]),
        nbformat.v4.new_code_cell("print(1)", id="other"),
    ])
    assert has_image(nb.cells[0]) and not has_image(nb.cells[1])
    assert missing_figures(nb) == ["without"]


def test_answer_keys_store_each_lesson_figure_once():
    """A figure shown as <img class="lmm-plot" alt=...> is saved without its duplicate image/png part,
    and still counts as the cell's image; other images (no alt HTML) keep their PNG."""
    from lmminstructor.preprocessors import clean_notebook

    html = '<img class="lmm-plot" alt="QQ plot of 30 BLUPs" src="data:image/png;base64,iVBORw0KGgo=">'
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("plots.qq(x)", id="lesson", outputs=[nbformat.v4.new_output(
            "display_data",
            data={"image/png": "iVBORw0KGgo=", "text/html": html, "text/plain": "<Figure>"})]),
        nbformat.v4.new_code_cell("plt.plot(x)", id="plain", outputs=[nbformat.v4.new_output(
            "display_data", data={"image/png": "iVBORw0KGgo=", "text/plain": "<Figure>"})]),
    ])
    clean_notebook(nb, keep_outputs=True)
    lesson, plain = (c.outputs[0]["data"] for c in nb.cells)
    assert "image/png" not in lesson and lesson["text/html"] == html
    assert plain["image/png"] == "iVBORw0KGgo="
    assert missing_figures(nb) == []
