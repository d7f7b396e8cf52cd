"""The final assessment master: its structure (issues 13 and 16) and answer keys that fit the data.

Part B of the final fits the course text's models to the clinics data and asks questions about the
printed output. Its multiple-choice keys are literal (the self-study bank stores them hashed), so
these tests check that what each key and its feedback claim (a small P-value, df close to the number
of clinics, ...) holds in R's output for the same models (lme4/lmerTest, ``tests/reference/
phaa_clinics.json``, made by ``tools/reference.R``), and that the models the notebook prints are
R's models. The numeric question's hidden test recomputes its reference from the data; here it is
run against R's ICC and against the typical wrong answers.
"""

import contextlib
import hashlib
import io
import re
import warnings
from pathlib import Path

import nbformat
import numpy as np
import pytest
from _reference import load_reference
from scipy import stats as sps

from lmminstructor.conventions import TIME_MARKER, Master, unwrap

ROOT = Path(__file__).resolve().parents[1]
FINAL = ROOT / "source" / "final" / "final_assessment.ipynb"
PART_B = "## Part B"
OUTPUT_CALLS = ("summary()", "stats.satterthwaite(", "stats.kenward_roger(", "stats.ranova(",
                "stats.compare(")


@pytest.fixture(scope="module")
def nb():
    return nbformat.read(FINAL, as_version=4)


@pytest.fixture(scope="module")
def master():
    return Master.load(FINAL)


@pytest.fixture(scope="module")
def ref():
    reference = load_reference("phaa_clinics")
    md5 = hashlib.md5((ROOT / reference["data_file"]).read_bytes()).hexdigest()
    assert md5 == reference["data_md5"], (
        "data/phaa_clinics.csv differs from the file R was run on: rerun `Rscript tools/reference.R`")
    return reference


def _markdown(nb):
    return [c for c in nb.cells if c.cell_type == "markdown"]


def _prose(text):
    """Markdown without fenced code blocks (a '#' there is a Python comment, not a heading)."""
    return re.sub(r"^```.*?^```[ \t]*$", "", text, flags=re.S | re.M)


def _part_b_start(nb):
    starts = [i for i, c in enumerate(nb.cells) if c.cell_type == "markdown" and c.source.startswith(PART_B)]
    assert len(starts) == 1, "one Part B heading"
    return starts[0]


def _part_b_questions(nb, master):
    start = _part_b_start(nb)
    ids = [c.metadata.get("nbgrader", {}).get("grade_id") for c in nb.cells]
    return [q for q in master.questions if ids.index(q.test_id) > start]


# --------------------------------------------------------------------------- ids and grading cells
def test_question_ids_follow_the_question_numbers(nb, master):
    """Question n has cells qf-n, qf-n-answer, qf-n-test, answer variable qf_n, in notebook order."""
    answers = [q.answer_id for q in master.questions]
    assert answers == [f"qf_{n}" for n in range(1, len(answers) + 1)]
    ids = [c.id for c in nb.cells]
    headings = [int(m) for c in _markdown(nb) for m in re.findall(r"^### Question (\d+)$", c.source, re.M)]
    assert headings == list(range(1, len(answers) + 1))
    for n in range(1, len(answers) + 1):
        answer, test = ids.index(f"qf-{n}-answer"), ids.index(f"qf-{n}-test")
        assert test == answer + 1
        assert nb.cells[answer].metadata["nbgrader"]["grade_id"] == f"qf_{n}"
        assert nb.cells[test].metadata["nbgrader"]["grade_id"] == f"test_qf_{n}"
        before = "".join(c.source for c in nb.cells[:answer] if c.cell_type == "markdown")
        assert f"### Question {n}\n" in before
        assert re.match(rf"qf_{n} = None\b", nb.cells[answer].source)
    assert all(q.points == 1 for q in master.questions)
    assert master.problems() == []


def test_choice_questions_show_their_four_options(nb, master):
    ids = [c.id for c in nb.cells]
    for q in master.questions:
        if q.kind != "choice":
            continue
        n = q.answer_id.split("_")[1]
        prompt = nb.cells[ids.index(f"qf-{n}-answer") - 1]
        assert prompt.cell_type == "markdown"
        assert re.findall(r"^\*\*\(([a-d])\)\*\*", prompt.source, re.M) == list("abcd"), prompt.id


def test_completion_cell_and_no_typed_question_count(nb):
    assert "completion_message(globals())" in nb.cells[-1].source
    numbers = r"\d+|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|" \
              r"fifteen|sixteen|seventeen|eighteen|nineteen|twenty"
    for cell in _markdown(nb):
        found = re.findall(rf"\b({numbers})\s+(?:multiple-choice\s+)?questions\b", cell.source, re.I)
        assert not found, f"{cell.id}: a question count typed in prose ({found}); the points table counts"
    assert TIME_MARKER in nb.cells[0].source, "the estimated time comes from the content (timing marker)"
    assert "Estimated time:" not in nb.cells[0].source


# --------------------------------------------------------------------------- issue 13, item 4
def test_part_b_has_at_least_three_questions_on_printed_output(nb, master):
    questions = _part_b_questions(nb, master)
    assert len(questions) >= 3
    assert any(q.kind == "number" for q in questions), "at least one numeric answer read from output"
    ids = [c.metadata.get("nbgrader", {}).get("grade_id") for c in nb.cells]
    previous = _part_b_start(nb)
    for q in questions:
        answer = ids.index(q.answer_id)
        shown = [c.source for c in nb.cells[previous:answer] if c.cell_type == "code"]
        assert any(call in src for src in shown for call in OUTPUT_CALLS), (
            f"{q.answer_id}: no printed model output (summary, Satterthwaite, ranova, compare) before it")
        previous = answer + 1


def test_numeric_tolerances_are_stated_in_the_prose(nb, master):
    ids = [c.metadata.get("nbgrader", {}).get("grade_id") for c in nb.cells]
    for q in master.questions:
        if q.kind != "number":
            continue
        tol = re.search(r"tol=([0-9.]+)", q.hidden).group(1)
        prompt = nb.cells[ids.index(q.answer_id) - 1].source
        assert f"within {tol}" in prompt, f"{q.answer_id}: tolerance {tol} not stated in the prose"
        assert "fit_tight(" in q.hidden and "load_clinics()" in q.hidden, "reference recomputed from the data"


# --------------------------------------------------------------------------- keys against R's output
@pytest.fixture(scope="module")
def part_b(nb):
    """Namespace after running the notebook's setup and Part B code cells (answers and tests left out)."""
    namespace: dict = {}
    start = _part_b_start(nb)
    cells = [c for c in nb.cells if c.id == "f-setup"] + [
        c for c in nb.cells[start:] if c.cell_type == "code" and "nbgrader" not in c.metadata
        and "completion_message" not in c.source]
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        for cell in cells:
            exec(compile(cell.source, cell.id, "exec"), namespace)
    return namespace


def _grade(master, qid, answer, namespace):
    """Run the test cell of ``qid`` (hidden part included) on ``answer``; return what it printed."""
    q = next(q for q in master.questions if q.answer_id == qid)
    ns = dict(namespace, **{qid: answer})
    out = io.StringIO()
    with warnings.catch_warnings(), contextlib.redirect_stdout(out):
        warnings.simplefilter("ignore")
        exec(compile(unwrap(q.source), q.test_id, "exec"), ns)
    return out.getvalue()


def test_the_printed_models_are_the_reference_models(part_b, ref):
    """Same data, terms and REML fit as R: equal variance components (they do not depend on how a
    column is scaled; patsy's scale() divides by the n-denominator SD, R's by the n - 1 one)."""
    for name in ("m1", "m2", "m3"):
        fit, r = part_b[name], ref["models"][name]
        assert fit.reml and fit.model.nobs == r["n_obs"], name
        assert len(fit.fe_params) == len(r["fixef_names"]), name
        vc = r["reml"]["varcorr"]
        assert fit.scale == pytest.approx(vc["sigma2_e"], rel=1e-4), name
        terms = vc["terms"]
        cov = [[vc["re_cov"][a][b] for b in terms] for a in terms]
        assert fit.cov_re.to_numpy().ravel() == pytest.approx(np.ravel(cov), rel=1e-3, abs=1e-3), name


def test_icc_question_accepts_r_value_and_rejects_typical_mistakes(master, part_b, ref):
    r1 = ref["models"]["m1"]
    vc = r1["reml"]["varcorr"]
    _grade(master, "qf_13", r1["icc"]["adjusted"], part_b)  # passes silently
    _grade(master, "qf_13", round(vc["sigma2_u"] / (vc["sigma2_u"] + vc["sigma2_e"]), 3), part_b)
    mistakes = {"variance ratio": vc["sigma2_u"] / vc["sigma2_e"],
                "conditional ICC": r1["icc"]["unadjusted"],
                "ICC of m0": ref["models"]["m0"]["icc"]["adjusted"],
                "standard deviations": vc["sigma2_u"] ** 0.5 / (vc["sigma2_u"] ** 0.5 + vc["sigma_e"])}
    for what, value in mistakes.items():
        with pytest.raises(AssertionError):
            _grade(master, "qf_13", value, part_b)
            pytest.fail(what)


def _key(master, qid):
    return next(q.key for q in master.questions if q.answer_id == qid)


def test_comparison_key_holds_in_r(master, ref):
    """qf_14 (a): 2 df, small P-value, and the larger model has the lower AIC (option d says otherwise)."""
    assert _key(master, "qf_14") == "a"
    table = next(c for c in ref["comparisons"] if c["name"] == "m1_vs_m2")
    assert table["refit"] is True
    reduced, full = table["table"]
    assert full["Df"] == 2 and full["p_value"] < 0.01
    assert full["AIC"] < reduced["AIC"]


def test_df_key_holds_in_r(master, ref):
    """qf_15 (a): clinic-level df below but near the number of clinics; smoker df near the patients."""
    assert _key(master, "qf_15") == "a"
    m2 = ref["models"]["m2"]
    df = {row["term"]: row["df"] for row in m2["satterthwaite"]}
    assert m2["n_groups"] / 2 < df["clinic_urbanurban"] < m2["n_groups"]
    assert df["smokerYes"] > 0.9 * m2["n_obs"]


def test_df_distractor_is_false_in_the_data(part_b):
    """qf_15 (b) says fewer patients attend urban clinics than smoke; its feedback: smokers are few."""
    clinics = part_b["clinics"]
    smokers = (clinics["smoker"] == "Yes").mean()
    assert smokers < 0.5
    assert (clinics["clinic_urban"] == "urban").mean() > smokers


def test_slope_key_holds_in_r(master, ref):
    """qf_16 (b): the slope row has 2 df, and plain, mixture and halved P-values are all above 0.05."""
    assert _key(master, "qf_16") == "b"
    row = ref["models"]["m3"]["ranova"][1]
    assert row["term"] == "smoker in (1 + smoker | clinic_id)" and row["Df"] == 2
    mixture = 0.5 * sps.chi2.sf(row["LRT"], 1) + 0.5 * sps.chi2.sf(row["LRT"], 2)
    assert min(row["p_value"], mixture, row["p_value"] / 2) > 0.2
    smoker = next(r for r in ref["models"]["m2"]["satterthwaite"] if r["term"] == "smokerYes")
    assert smoker["p_value"] < 0.01, "option (a)'s feedback: the average smoker effect is clearly not zero"


@pytest.mark.parametrize("qid", ["qf_14", "qf_15", "qf_16"])
def test_output_questions_grade_every_option(master, part_b, qid):
    q = next(q for q in master.questions if q.answer_id == qid)
    assert "correct" in _grade(master, qid, q.key, part_b)
    for option in set(q.options) - {q.key}:
        with pytest.raises(AssertionError, match=re.escape(q.feedback[option][:40])):
            _grade(master, qid, option, part_b)


# --------------------------------------------------------------------------- issue 16, item 4
def _headings(nb):
    out = []
    for cell in _markdown(nb):
        for line in _prose(cell.source).splitlines():
            m = re.match(r"^(#{1,6})\s+\S", line)
            if m:
                out.append((len(m.group(1)), line.strip()))
        out += [(int(n), "html") for n in re.findall(r"<h([1-6])\b", cell.source)]
    return out


def test_one_h1_and_no_skipped_heading_levels(nb):
    levels = _headings(nb)
    assert [lvl for lvl, _ in levels].count(1) == 1 and levels[0][0] == 1
    for (prev, _), (lvl, line) in zip(levels, levels[1:], strict=False):
        assert lvl <= prev + 1, f"heading level skipped at {line!r}"


def test_tables_links_and_latex_are_accessible(nb):
    vague = {"here", "click here", "link", "this", "this link", "more", "read more"}
    banned = (r"\color", r"\style", r"\class", r"\require", r"\def", r"\newcommand", r"\href",
              r"\textcolor", r"\boxed", "<")
    for cell in _markdown(nb):
        lines = _prose(cell.source).splitlines()
        for i, line in enumerate(lines):
            if line.strip().startswith("|") and (i == 0 or not lines[i - 1].strip().startswith("|")):
                assert i + 1 < len(lines) and re.match(r"^\s*\|[\s:|-]+\|\s*$", lines[i + 1]), cell.id
        assert "<table" not in cell.source or "<th" in cell.source, cell.id
        for text, _target in re.findall(r"\[([^\]]*)\]\(([^)]*)\)", cell.source):
            assert text.strip().lower() not in vague and not re.match(r"https?://", text.strip()), cell.id
        body = _prose(cell.source)
        assert body.count("$") % 2 == 0, f"{cell.id}: unbalanced $"
        for expr in re.findall(r"\$(.+?)\$", body):
            assert not any(bad in expr for bad in banned), f"{cell.id}: {expr!r}"
            assert not re.search(r"[α-ωΑ-Ωσβ²]", expr), f"{cell.id}: Unicode symbol in maths {expr!r}"


def test_master_stays_short_and_without_outputs(nb):
    assert len(FINAL.read_text(encoding="utf-8")) < 50_000
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, cell.id
