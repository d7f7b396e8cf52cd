"""The one-source build on a small fixture course: editions, self-study transform, key bank, sync check."""

import json
import shutil
from pathlib import Path

import nbformat
import numpy as np  # noqa: F401  (the hidden demo test uses np from the caller's namespace)
import pytest

from lmmcourse import grading
from lmminstructor import build

FIXTURE = Path(__file__).parent / "fixtures" / "course"
SECRETS = ["SECRET-FEEDBACK", "SECRET-MODEL-ANSWER", "BEGIN SOLUTION", "BEGIN HIDDEN TESTS",
           "987654321", 'q9_1 = "b"', "np.mean([1, 2, 3, 4])"]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("course")
    shutil.copytree(FIXTURE / "source", root / "source")
    build.build(root, run_solutions=False, log=lambda *_: None)
    return root


def _text(path):
    return path.read_text(encoding="utf-8")


def test_editions_are_written(built):
    assert (built / "release" / "demo" / "demo.ipynb").exists()
    assert (built / "solutions" / "demo" / "demo.ipynb").exists()
    assert (built / "notebooks" / "demo.ipynb").exists()
    assert (built / "lmmcourse" / "feedback_bank.json").exists()


@pytest.mark.parametrize("edition", ["release/demo/demo.ipynb", "notebooks/demo.ipynb",
                                     "lmmcourse/feedback_bank.json"])
def test_student_files_hide_answers(built, edition):
    text = _text(built / edition)
    for secret in SECRETS:
        assert secret not in text, f"{secret!r} leaked into {edition}"


def test_solutions_keep_answers(built):
    text = _text(built / "solutions" / "demo" / "demo.ipynb")
    assert 'q9_1 = \\"b\\"' in text and "SECRET-MODEL-ANSWER" in text


def test_points_table_is_computed(built):
    nb = nbformat.read(built / "release" / "demo" / "demo.ipynb", as_version=4)
    table = nb.cells[1].source
    assert "| Knowledge check | 1 | 1 |" in table
    assert "| Python activity | 1 | 2 |" in table
    assert "| **Total** | 3 | **5** |" in table


@pytest.mark.parametrize("edition", ["release/demo/demo.ipynb", "solutions/demo/demo.ipynb",
                                     "notebooks/demo.ipynb"])
def test_estimated_time_in_every_edition(built, edition):
    nb = nbformat.read(built / edition, as_version=4)
    # 10 minutes: hand-counted in tests/test_timing.py
    assert nb.cells[0].source == ("# Demo section\n\n*Estimated time: 10 minutes*\n\n"
                                  "A tiny master used by the build tests.")


def test_released_test_cells_are_locked(built):
    nb = nbformat.read(built / "release" / "demo" / "demo.ipynb", as_version=4)
    locks = {c.metadata["nbgrader"]["grade_id"]: (c.metadata.get("deletable"), c.metadata.get("editable"))
             for c in nb.cells if "nbgrader" in c.metadata}
    assert locks == {"q9_1": (False, None), "test_q9_1": (False, False), "mean_demo": (False, None),
                     "test_mean_demo": (False, False), "reflection_demo": (False, None)}


def test_self_study_cells(built):
    nb = nbformat.read(built / "notebooks" / "demo.ipynb", as_version=4)
    sources = [c.source for c in nb.cells]
    assert 'check("q9_1", q9_1)' in sources
    assert 'check("mean_demo", mean_demo)' in sources
    assert 'reflect("reflection_demo")' in sources
    assert not any("NotImplementedError" in s for s in sources)
    assert all("nbgrader" not in c.metadata for c in nb.cells)


def test_self_study_runs_unanswered_and_gives_feedback(built):
    from nbclient import NotebookClient

    nb = nbformat.read(built / "notebooks" / "demo.ipynb", as_version=4)
    bank = built / "lmmcourse" / "feedback_bank.json"
    nb.cells.insert(3, nbformat.v4.new_code_cell(
        f"import functools, lmmcourse.grading as g\ng.BANK_PATH = g.Path({str(bank)!r})"))
    NotebookClient(nb, timeout=120, kernel_name="python3").execute()
    out = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    assert "q9_1: No answer yet" in out and "mean_demo: No answer yet" in out
    assert not any(o.get("output_type") == "error" for c in nb.cells if c.cell_type == "code"
                   for o in c.outputs)


def test_check_feedback_only_for_chosen_option(built, capsys):
    bank = json.loads(_text(built / "lmmcourse" / "feedback_bank.json"))
    # check() prints its verdict and returns None (issue 11); the verdict is read from last_results().
    # Each verdict follows the opposite one, so a stale result cannot pass.
    assert grading.check("q9_1", "c", bank=bank) is None
    assert grading.last_results()["q9_1"] is False
    out = capsys.readouterr().out
    assert "✗ Not yet" in out and "SECRET-FEEDBACK-C" in out and "SECRET-FEEDBACK-B" not in out
    assert grading.check("q9_1", "(B)", bank=bank) is None
    assert grading.last_results()["q9_1"] is True
    out = capsys.readouterr().out
    assert "✓ Correct" in out and "SECRET-FEEDBACK-B" in out and "SECRET-FEEDBACK-A" not in out
    assert "True" not in out and "False" not in out
    grading.check("q9_1", "c", bank=bank)
    assert grading.last_results()["q9_1"] is False
    out = capsys.readouterr().out
    assert "✗ Not yet" in out and "SECRET-FEEDBACK-C" in out and "SECRET-FEEDBACK-B" not in out


def test_check_unanswered_keeps_the_last_verdict(built, capsys):
    bank = json.loads(_text(built / "lmmcourse" / "feedback_bank.json"))
    grading.check("q9_1", "b", bank=bank)
    assert grading.check("q9_1", None, bank=bank) is None
    assert "q9_1: No answer yet" in capsys.readouterr().out
    assert grading.last_results()["q9_1"] is True  # a reminder is no verdict
    results = grading.last_results()
    results["q9_1"] = False  # a copy: the caller cannot change the record
    assert grading.last_results()["q9_1"] is True


def test_check_runs_hidden_numeric_test(built, capsys):
    bank = json.loads(_text(built / "lmmcourse" / "feedback_bank.json"))
    # 2.5 is the mean of 1, 2, 3, 4 by hand; the tolerance is 0.01
    assert grading.check("mean_demo", 3.0, bank=bank) is None
    assert grading.last_results()["mean_demo"] is False
    assert "too high" in capsys.readouterr().out
    assert grading.check("mean_demo", 2.5, bank=bank) is None
    assert grading.last_results()["mean_demo"] is True
    grading.check("mean_demo", 3.0, bank=bank)
    assert grading.last_results()["mean_demo"] is False
    assert "too high" in capsys.readouterr().out


def test_check_sync_clean_then_catches_hand_edit(built):
    assert build.check_sync(built, log=lambda *_: None) == []
    target = built / "release" / "demo" / "demo.ipynb"
    original = _text(target)
    try:
        target.write_text(original.replace("Which letter comes second?", "Which letter? (edited)"))
        problems = build.check_sync(built, log=lambda *_: None)
        assert len(problems) == 1 and problems[0].startswith("release/demo/demo.ipynb")
    finally:
        target.write_text(original)


def test_check_sync_catches_stray_and_missing_files(built):
    stray = built / "notebooks" / "extra.ipynb"
    shutil.copy(built / "notebooks" / "demo.ipynb", stray)
    moved = built / "solutions" / "demo" / "demo.ipynb"
    moved.rename(moved.with_suffix(".bak"))
    try:
        problems = build.check_sync(built, log=lambda *_: None)
        assert any(p.startswith("notebooks/extra.ipynb: not produced") for p in problems)
        assert any(p.startswith("solutions/demo/demo.ipynb: missing") for p in problems)
    finally:
        stray.unlink()
        moved.with_suffix(".bak").rename(moved)


def test_broken_master_gives_clear_error(tmp_path):
    shutil.copytree(FIXTURE / "source", tmp_path / "source")
    path = tmp_path / "source" / "demo" / "demo.ipynb"
    nb = nbformat.read(path, as_version=4)
    nb.cells[5].metadata["nbgrader"]["grade_id"] = "q9_1_tests"
    nbformat.write(nb, path)
    with pytest.raises(build.BuildError, match="must be named test_<answer variable>"):
        build.build(tmp_path, run_solutions=False, log=lambda *_: None)


def test_completion_message_counts_and_congratulates(built, capsys):
    bank = json.loads(_text(built / "lmmcourse" / "feedback_bank.json"))
    grading.completion_message({"q9_1": "c"}, prefix="q9_", bank=bank)
    assert "0 of 1 correct so far" in capsys.readouterr().out
    grading.completion_message({"q9_1": " B "}, prefix="q9_", bank=bank)
    assert "1 of 1 correct. Congratulations" in capsys.readouterr().out
    grading.completion_message({"q9_1": None}, prefix="q9_", bank=bank)
    assert "No answers yet" in capsys.readouterr().out


def test_stable_outputs_merge_streams_and_hide_the_kernel_file():
    """Two runs of an answer key differ only where the kernel flushed or in its temp file's pid."""
    cell = nbformat.v4.new_code_cell("print('a'); print('b')")
    cell.outputs = [
        nbformat.v4.new_output("stream", name="stdout", text="1554 cows\n"),
        nbformat.v4.new_output("stream", name="stdout", text="ICC = 0.204\n"),
        nbformat.v4.new_output("stream", name="stderr",
                               text="/tmp/ipykernel_25792/3884521440.py:1: ConvergenceWarning: boundary\n"),
    ]
    nb = nbformat.v4.new_notebook(cells=[cell])
    build.stable_outputs(nb)
    assert [(o.name, o.text) for o in nb.cells[0].outputs] == [
        ("stdout", "1554 cows\nICC = 0.204\n"),
        ("stderr", "<cell>:1: ConvergenceWarning: boundary\n"),
    ]
