"""Parallel autograding (``make grade``): the same scores as nbgrader's serial autograde, re-runs, failures.

The course is the fixture master (``tests/fixtures/course``): q9_1 (multiple choice, 1 point) and
mean_demo (number, 2 points), 3 autograded points; the broken scenarios of the autograding demo break q9_1.
Expected scores, worked by hand from those points: perfect 3, blank 0, half 1 (the largest sum of whole
questions not above 1.5 is q9_1 alone), an answer that raises / is of the wrong type / an edited test
cell with q9_1 wrong: 3 - 1 = 2, a deleted test cell restored by nbgrader: 3.
"""

import csv
import io
import shutil
import time
from pathlib import Path

import nbformat
import pytest

from lmminstructor import autograde_demo as ag
from lmminstructor import grade as g

FIXTURE = Path(__file__).parent / "fixtures" / "course" / "source"
TIMEOUT = 10  # seconds per cell in the test course
HAND = {"perfect": 3, "blank": 0, "half": 1, "raises": 2, "wrong_type": 2, "edited_tests": 2,
        "no_test_cell": 3}
BROKEN = {"bad_json", "renamed"}  # nbgrader cannot grade these: reported, no score
SCENARIOS = [s for s in ag.SCENARIOS if s[0] in HAND or s[0] in BROKEN]

pytestmark = pytest.mark.slow


def _course(root: Path, scenarios=SCENARIOS) -> Path:
    course = root / "course"
    ag.make_course(course, FIXTURE, timeout=TIMEOUT)
    key = ag.analyse_master(course / "source" / "demo" / "demo.ipynb")
    ag.generate_assignment(course, "demo")
    ag.make_submissions(course, key, scenarios)
    return course


def _grades(course: Path) -> dict[str, dict[str, float]]:
    """Per student, nbgrader's own gradebook: every autograded cell's score."""
    from nbgrader.api import Gradebook

    out = {}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", ag.COURSE_ID) as gb:
        for sub in gb.assignment_submissions("demo"):
            out[sub.student.id] = {gr.name: gr.score for nb in sub.notebooks for gr in nb.grades
                                   if gr.cell_type == "code"}
    return out


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """The same class graded twice: nbgrader serially (one student at a time) and by grade.grade."""
    serial = _course(tmp_path_factory.mktemp("serial"))
    parallel = serial.parent.parent / "parallel" / "course"
    shutil.copytree(serial, parallel)
    ag.write_config(parallel, TIMEOUT)  # its own root
    for student, _ in SCENARIOS:
        ag.autograde_student(serial, "demo", student)
    bar = io.StringIO()
    rows = g.grade(parallel, "demo", jobs=2, progress=bar)
    return serial, parallel, {r.student: r for r in rows}, bar.getvalue()


def test_same_scores_as_serial_nbgrader(graded):
    serial, parallel, rows, _ = graded
    assert _grades(parallel) == _grades(serial)
    for student, points in HAND.items():
        assert rows[student].score == points, student
        assert rows[student].status == "graded"
        assert rows[student].max_score == 3


def test_broken_submissions_are_reported_and_cost_only_themselves(graded):
    _, _, rows, _ = graded
    assert {s for s, r in rows.items() if r.status == "FAILED"} == BROKEN
    assert any("not a valid notebook" in n for n in rows["bad_json"].notes)
    assert any("missing notebook demo.ipynb" in n for n in rows["renamed"].notes)


def test_failed_cells_counted_from_the_autograded_copy(graded):
    _, _, rows, _ = graded
    # the fixture has 2 autograded test cells; blank fails both, raises fails q9_1's
    assert rows["perfect"].failed_cells == 0
    assert rows["blank"].failed_cells == 2
    assert rows["raises"].failed_cells == 1


def test_progress_in_a_log_one_line_per_submission(graded):
    _, _, _, text = graded
    lines = text.strip().splitlines()
    assert len(lines) == len(SCENARIOS)
    assert lines[-1].startswith("[" + "#" * 24 + "]")
    assert f"{len(SCENARIOS)}/{len(SCENARIOS)} done, 2 failed" in lines[-1]


def test_progress_eta_worked_by_hand():
    bar = g.Progress(total=4, workers=2, stream=io.StringIO())
    bar.done, bar.failed = 1, 1
    # one of four done after 10 s: 3 more at 10 s each
    assert bar.line(now=bar.start + 10) == ("[######..................] 1/4 done, 1 failed, "
                                           "elapsed 10s, ETA 30s")
    bar.done = 2
    assert bar.line(now=bar.start + 100).endswith("elapsed 1m40s, ETA 1m40s")


def test_rerun_grades_only_what_changed_and_writes_csv(graded, capsys):
    _, parallel, _, _ = graded
    assert g.main(["demo", "--course", str(parallel), "--jobs", "2"]) == 1  # the broken ones fail again
    out = capsys.readouterr().out
    assert "student" in out and "failed cells" in out
    for student in HAND:
        line = next(x for x in out.splitlines() if x.startswith(student + " "))
        assert "unchanged" in line, line
    # blank re-submits with every answer right: only blank is graded again
    key = ag.analyse_master(parallel / "source" / "demo" / "demo.ipynb")
    resubmitted = parallel / "submitted" / "blank" / "demo" / "demo.ipynb"
    nbformat.write(ag.perfect_notebook(parallel, key), resubmitted)
    rows = {r.student: r for r in g.grade(parallel, "demo", jobs=2, students=["blank", "perfect"],
                                          progress=io.StringIO())}
    assert (rows["blank"].status, rows["blank"].score) == ("graded", 3)
    assert rows["perfect"].status == "unchanged"
    with open(parallel / "grades.csv", newline="") as fh:
        csv_rows = [r for r in csv.DictReader(fh) if r["assignment"] == "demo"]
    assert {r["student_id"] for r in csv_rows} >= set(HAND)
    forced = g.grade(parallel, "demo", jobs=2, force=True, students=["perfect"], progress=io.StringIO())
    assert (forced[0].status, forced[0].score) == ("graded", 3)


def test_timeout_stops_one_submission_only(tmp_path):
    course = _course(tmp_path, [s for s in ag.SCENARIOS if s[0] in ("perfect", "infinite_loop")])
    ag.write_config(course, timeout=120)  # the loop would hang for 2 minutes per cell
    t0 = time.monotonic()
    rows = {r.student: r for r in g.grade(course, "demo", jobs=2, timeout=20, progress=io.StringIO())}
    assert time.monotonic() - t0 < 60
    assert (rows["perfect"].status, rows["perfect"].score) == ("graded", 3)
    assert rows["infinite_loop"].status == "FAILED"
    assert "--timeout" in rows["infinite_loop"].notes[0]
    assert "infinite_loop" not in _grades(course)  # nothing written for the stopped submission


def test_missing_gradebook_says_what_to_do(tmp_path):
    with pytest.raises(ValueError, match="nbgrader generate_assignment demo"):
        g.grade(tmp_path, "demo")


def test_dask_local_cluster_same_scores(tmp_path):
    distributed = pytest.importorskip("dask.distributed")
    course = _course(tmp_path, [s for s in ag.SCENARIOS if s[0] in ("perfect", "blank", "raises")])
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        rows = {r.student: r for r in g.grade(course, "demo", scheduler=cluster.scheduler_address,
                                              progress=io.StringIO())}
    assert {s: r.score for s, r in rows.items()} == {s: HAND[s] for s in ("perfect", "blank", "raises")}
    assert all(r.status == "graded" for r in rows.values())
