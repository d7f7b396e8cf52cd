"""Autograding throughput: a class of perfect submissions of the whole lesson, graded with nbgrader.

``LMM_BENCH_STUDENTS`` students (default 30) each submit all five assignments with every answer right;
each submission is autograded on its own (``nbgrader autograde <assignment> --student <id>``, in process,
as ``make autograde-demo`` does), and every score is checked to be full marks (a timing of wrong grades
would mean nothing). Rows:

* seconds per notebook submission (target <= 10 s) and per student (all five notebooks);
* the same per assignment;
* what a notebook costs before any lesson code runs: autograding the tiny fixture notebook (kernel
  start-up, nbgrader's sanitising and gradebook writes);
* plain execution of each solutions notebook with nbclient (no nbgrader), for comparison.

Wall-clock times on a shared machine: the load average is printed with the results.
"""

import functools
import os
import shutil
import tempfile
import time
from pathlib import Path

import nbformat

from lmminstructor import autograde_demo as ag

ROOT = Path(__file__).resolve().parent.parent
N_STUDENTS = int(os.environ.get("LMM_BENCH_STUDENTS", "30"))
TARGET = 10.0


@functools.lru_cache(maxsize=1)
def _run():
    """Grade the class once; return per-assignment lists of seconds and the fixed cost per notebook."""
    times: dict[str, list[float]] = {}
    load = [os.getloadavg()[0]]
    with tempfile.TemporaryDirectory(prefix="lmm-bench-grading-") as tmp:
        course = Path(tmp) / "course"
        assignments = ag.make_course(course)
        for assignment in assignments:
            key = ag.analyse_master(next((course / "source" / assignment).glob("*.ipynb")))
            ag.generate_assignment(course, assignment)
            text = nbformat.writes(ag.perfect_notebook(course, key))
            students = [f"student{i:02d}" for i in range(N_STUDENTS)]
            for student in students:
                folder = course / "submitted" / student / assignment
                folder.mkdir(parents=True)
                (folder / key.notebook).write_text(text, encoding="utf-8")
            for student in students:
                t0 = time.perf_counter()
                ok, messages = ag.autograde_student(course, assignment, student)
                times.setdefault(assignment, []).append(time.perf_counter() - t0)
                if not ok:
                    raise RuntimeError(f"{assignment}/{student} failed: {messages}")
            scores = ag.gradebook_scores(course, assignment)
            wrong = {s: v[:2] for s, v in scores.items() if v[0] != key.auto_points}
            if wrong:
                raise RuntimeError(f"{assignment}: perfect submissions without full marks: {wrong}")
        load.append(os.getloadavg()[0])
        # the fixed cost: the fixture notebook (imports numpy and the grading helpers only)
        small = Path(tmp) / "small"
        ag.make_course(small, ROOT / "tests" / "fixtures" / "course" / "source")
        key = ag.analyse_master(small / "source" / "demo" / "demo.ipynb")
        ag.generate_assignment(small, "demo")
        fixed = []
        for i in range(3):
            folder = small / "submitted" / f"s{i}" / "demo"
            folder.mkdir(parents=True)
            nbformat.write(ag.perfect_notebook(small, key), folder / key.notebook)
            t0 = time.perf_counter()
            ag.autograde_student(small, "demo", f"s{i}")
            fixed.append(time.perf_counter() - t0)
        shutil.rmtree(small)
    print(f"[bench_grading] {N_STUDENTS} students x {len(times)} assignments; load average "
          f"{load[0]:.1f} -> {load[1]:.1f} on {os.cpu_count()} cores")
    return times, min(fixed)


@functools.lru_cache(maxsize=1)
def _plain_execution():
    """Seconds to execute each solutions notebook with nbclient alone (no nbgrader)."""
    from nbclient import NotebookClient

    out = {}
    for path in sorted((ROOT / "solutions").glob("*/*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        t0 = time.perf_counter()
        NotebookClient(nb, timeout=300, kernel_name="python3",
                       resources={"metadata": {"path": str(path.parent)}}).execute()
        out[path.parent.name] = time.perf_counter() - t0
    return out


def bench_autograde_per_notebook():
    times, _ = _run()
    flat = [t for ts in times.values() for t in ts]
    return dict(name=f"autograde: s per notebook submission ({N_STUDENTS} x {len(times)})",
                value=sum(flat) / len(flat), unit="s", target=f"<= {TARGET:g}")


def bench_autograde_per_student():
    times, _ = _run()
    total = sum(sum(ts) for ts in times.values())
    return dict(name=f"autograde: s per student (all {len(times)} notebooks)", value=total / N_STUDENTS,
                unit="s", target=f"<= {TARGET * len(times):g}")


def _per_assignment(assignment):
    def bench():
        times, _ = _run()
        ts = times.get(assignment)
        if not ts:
            raise RuntimeError(f"no master for {assignment}")
        return dict(name=f"autograde: s per {assignment} submission", value=sum(ts) / len(ts), unit="s",
                    target=f"<= {TARGET:g}")
    return bench


bench_autograde_section1 = _per_assignment("section1")
bench_autograde_section2 = _per_assignment("section2")
bench_autograde_section3 = _per_assignment("section3")
bench_autograde_section4 = _per_assignment("section4")
bench_autograde_zfinal = _per_assignment("final")


def bench_autograde_fixed_cost():
    _, fixed = _run()
    return dict(name="autograde: fixed cost per notebook (tiny notebook)", value=fixed, unit="s", target="-")


def bench_execute_solutions_alone():
    plain = _plain_execution()
    return dict(name="nbclient alone: s per solutions notebook (mean)",
                value=sum(plain.values()) / len(plain), unit="s", target="-")
