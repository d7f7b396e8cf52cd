"""Content checks of the Section 3 and Section 4 masters (issues 12, 13 and 16).

These tests read the masters in ``source/`` as text: they catch statements that were once wrong
(issue 12), keep the nbgrader structure of the "write the model" tasks sound (issue 13) and keep the
notebooks' structure accessible (issue 16, item 4: one H1, no skipped heading levels, tables with
header rows, meaningful link text, plain LaTeX).
"""

import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
S3 = ROOT / "source" / "section3" / "section3_contextual_inference.ipynb"
S4 = ROOT / "source" / "section4" / "section4_prediction_diagnostics.ipynb"
MASTERS = [S3, S4]


def _nb(path):
    return nbformat.read(path, as_version=4)


def _markdown(path):
    return [c for c in _nb(path).cells if c.cell_type == "markdown"]


def _prose(text):
    """Markdown without fenced code blocks (a '#' there is a Python comment, not a heading)."""
    return re.sub(r"^```.*?^```[ \t]*$", "", text, flags=re.S | re.M)


def _sentences(text):
    flat = " ".join(_prose(text).split())
    return re.split(r"(?<=[.!?])\s+(?=[A-Z*(])", flat)


def _grade(cell):
    return cell.metadata.get("nbgrader", {})


# --------------------------------------------------------------------------- issue 12, item 1
def test_section3_credits_only_the_contextual_effect_with_going_beyond_own_ages():
    """beta_B is the *total* between-clinic slope; only beta_B - beta_W is beyond the own ages.

    The old text said clinics a year apart in mean age "differ by beta_B mmHg, beyond what the
    patients' own ages explain". Any sentence that speaks of going beyond the patients' own ages
    must name the contextual effect (or beta_B - beta_W), never beta_B on its own.
    """
    offending = []
    for cell in _markdown(S3):
        for sentence in _sentences(cell.source):
            if re.search(r"beyond", sentence) and re.search(r"own ages?", sentence):
                names_contextual = ("contextual" in sentence
                                    or re.search(r"\\beta_B\s*-\s*\\beta_W", sentence))
                if not names_contextual:
                    offending.append(sentence)
    assert not offending, f"sentences crediting the wrong quantity: {offending}"
    text = " ".join(" ".join(c.source.split()) for c in _markdown(S3))
    assert not re.search(r"differ by \$\\beta_B\$ mmHg,? beyond", text)


def test_section3_prints_the_split_of_the_between_slope_next_to_the_sentence():
    nb = _nb(S3)
    ids = [c.get("id") for c in nb.cells]
    slopes = nb.cells[ids.index("s3-slopes")].source
    assert "b_b - b_w" in slopes and "total" in slopes
    assert ids.index("s3-slopes") < ids.index("s3-ctx-interpret")


def test_contextual_effect_is_the_cluster_mean_coefficient_of_the_uncentred_model():
    """Algebra the Section 3 text relies on: beta_W Z + beta_B xbar = beta_W x + (beta_B - beta_W) xbar.

    Worked on a small hand-made data set with OLS (the identity holds for any linear predictor),
    so the reference is the algebra, not the lesson's code.
    """
    import numpy as np
    import pandas as pd
    import statsmodels.formula.api as smf

    df = pd.DataFrame({"g": list("aaabbbccc"),
                       "x": [1.0, 2, 3, 2, 4, 6, 5, 5, 8],
                       "y": [2.0, 3, 5, 1, 4, 4, 9, 8, 12]})
    df["xbar"] = df.groupby("g")["x"].transform("mean")
    df["z"] = df["x"] - df["xbar"]
    centred = smf.ols("y ~ z + xbar", df).fit().params
    uncentred = smf.ols("y ~ x + xbar", df).fit().params
    assert np.isclose(uncentred["xbar"], centred["xbar"] - centred["z"])
    assert np.isclose(uncentred["x"], centred["z"])


def test_story_slopes_are_printed_not_typed():
    """Scene 2's pooled, within and between slopes come from code, never typed in the prose."""
    text = " ".join(c.source for c in _markdown(S3))
    for typed in ("1.55", "2.27", "2.32"):
        assert typed not in text, f"{typed} typed in Section 3 prose"


# --------------------------------------------------------------------------- nbgrader structure
@pytest.mark.parametrize("path", MASTERS, ids=lambda p: p.parent.name)
def test_graded_cells_are_well_formed(path):
    nb = _nb(path)
    ids = [c.get("id") for c in nb.cells]
    assert len(ids) == len(set(ids)), "cell ids must be unique"
    gids = [_grade(c)["grade_id"] for c in nb.cells if _grade(c).get("grade_id")]
    assert len(gids) == len(set(gids)), "grade_ids must be unique"
    answers = {_grade(c)["grade_id"] for c in nb.cells
               if c.cell_type == "code" and _grade(c).get("solution")}
    for cell in nb.cells:
        meta, src = _grade(cell), cell.source
        if cell.cell_type == "code":
            assert not cell.outputs and cell.execution_count is None, cell.id
        assert src.count("### BEGIN SOLUTION") == src.count("### END SOLUTION"), cell.id
        assert src.count("### BEGIN HIDDEN TESTS") == src.count("### END HIDDEN TESTS"), cell.id
        if cell.cell_type == "code" and meta.get("solution"):
            assert "### BEGIN SOLUTION" in src, f"{cell.id}: answer cell without a solution block"
        if meta.get("grade") and not meta.get("solution"):
            assert meta.get("points", 0) > 0, f"{cell.id}: test cell without points"
            assert meta["grade_id"].startswith("test_"), cell.id
            assert meta["grade_id"][len("test_"):] in answers, f"{cell.id}: no answer cell"


def _last_call(src):
    """The call that is the last expression of a test cell (nbgrader reads it as partial credit)."""
    import ast

    code = re.sub(r"^\s*### (BEGIN|END) HIDDEN TESTS\s*$", "", src, flags=re.M)
    last = ast.parse(code).body[-1]
    return last.value if isinstance(last, ast.Expr) and isinstance(last.value, ast.Call) else None


@pytest.mark.parametrize("path", MASTERS, ids=lambda p: p.parent.name)
def test_grade_model_is_the_last_expression_with_the_cell_points(path):
    """grade_model returns the points earned; nbgrader only sees them as the cell's last value."""
    import ast

    for cell in _nb(path).cells:
        if cell.cell_type == "code" and "grade_model(" in cell.source and _grade(cell).get("grade"):
            call = _last_call(cell.source)
            assert call is not None and getattr(call.func, "id", "") == "grade_model", cell.id
            points = [ast.literal_eval(k.value) for k in call.keywords if k.arg == "points"]
            assert points == [_grade(cell)["points"]], f"{cell.id}: points= differs from the metadata"


def test_each_section_has_a_graded_task_where_the_student_writes_the_model():
    """Issue 13: Section 3 fits the contextual BMI model; Section 4 computes a BLUP by hand."""
    s3 = {_grade(c).get("grade_id"): c.source for c in _nb(S3).cells}
    s4 = {_grade(c).get("grade_id"): c.source for c in _nb(S4).cells}
    assert "bmi_mean" in s3["m_bmi"] and "mixedlm(" in s3["m_bmi"]
    assert getattr(_last_call(s3["test_m_bmi"]).func, "id", "") == "grade_model"
    assert "shrinkage_factor" in s4["blup_by_hand"] or "cov_re" in s4["blup_by_hand"]
    assert "assert_close" in s4["test_blup_by_hand"]


# --------------------------------------------------------------------------- issue 16, item 4
def _headings(path):
    out = []
    for cell in _markdown(path):
        for line in _prose(cell.source).splitlines():
            m = re.match(r"^(#{1,6})\s+\S", line)
            if m:
                out.append((len(m.group(1)), line.strip()))
        out += [(int(n), "html") for n in re.findall(r"<h([1-6])\b", cell.source)]
    return out


@pytest.mark.parametrize("path", MASTERS, ids=lambda p: p.parent.name)
def test_one_h1_and_no_skipped_heading_levels(path):
    levels = _headings(path)
    assert [lvl for lvl, _ in levels].count(1) == 1, "exactly one H1 per notebook"
    assert levels[0][0] == 1, "the notebook starts with its H1"
    for (prev, _), (lvl, line) in zip(levels, levels[1:], strict=False):
        assert lvl <= prev + 1, f"heading level skipped at {line!r}"


@pytest.mark.parametrize("path", MASTERS, ids=lambda p: p.parent.name)
def test_tables_have_header_rows(path):
    for cell in _markdown(path):
        lines = _prose(cell.source).splitlines()
        for i, line in enumerate(lines):
            is_row = line.strip().startswith("|")
            starts = is_row and (i == 0 or not lines[i - 1].strip().startswith("|"))
            if starts:
                assert i + 1 < len(lines) and re.match(r"^\s*\|[\s:|-]+\|\s*$", lines[i + 1]), (
                    f"{cell.id}: table without a header row at {line!r}")
        assert "<table" not in cell.source or "<th" in cell.source, cell.id


@pytest.mark.parametrize("path", MASTERS, ids=lambda p: p.parent.name)
def test_links_have_meaningful_text(path):
    vague = {"here", "click here", "link", "this", "this link", "more", "read more"}
    for cell in _markdown(path):
        for text, _target in re.findall(r"\[([^\]]*)\]\(([^)]*)\)", cell.source):
            assert text.strip().lower() not in vague, f"{cell.id}: link text {text!r}"
            assert not re.match(r"https?://", text.strip()), f"{cell.id}: bare URL as link text"
        assert not re.search(r"(?<![(<\"'])https?://\S+", _strip_links(cell.source)), (
            f"{cell.id}: bare URL; give it link text")


def _strip_links(text):
    return re.sub(r"\[[^\]]*\]\([^)]*\)", "", text)


def _maths(text):
    text = _prose(text)
    return re.findall(r"\$\$(.+?)\$\$", text, flags=re.S) + re.findall(
        r"(?<!\$)\$(?!\$)(.+?)(?<!\$)\$(?!\$)", re.sub(r"\$\$.+?\$\$", "", text, flags=re.S))


@pytest.mark.parametrize("path", MASTERS, ids=lambda p: p.parent.name)
def test_latex_is_plain(path):
    banned = (r"\color", r"\style", r"\class", r"\require", r"\def", r"\newcommand", r"\href",
              r"\textcolor", r"\boxed", "<")
    for cell in _markdown(path):
        body = re.sub(r"\\\$", "", _prose(cell.source))
        assert body.count("$") % 2 == 0, f"{cell.id}: unbalanced $ delimiters"
        for expr in _maths(cell.source):
            for bad in banned:
                assert bad not in expr, f"{cell.id}: {bad!r} in maths {expr!r}"
            assert not re.search(r"[α-ωΑ-Ωσβ²]", expr), f"{cell.id}: Unicode symbol in maths {expr!r}"


@pytest.mark.parametrize("path", MASTERS, ids=lambda p: p.parent.name)
def test_collapsible_blocks_have_a_summary(path):
    for cell in _markdown(path):
        assert cell.source.count("<details") == cell.source.count("<summary>"), cell.id
        assert cell.source.count("<details") == cell.source.count("</details>"), cell.id
