"""Parallel against serial autograding of the same synthetic class, and where a notebook's time goes.

A class of ``LMM_BENCH_PAR_STUDENTS`` students (default 6: a third perfect, a third half right, a third
blank, made by :func:`lmminstructor.autograde_demo.make_submissions`) submits each assignment in
``LMM_BENCH_PAR_ASSIGNMENTS`` (default ``section1 section2``). The class is graded twice on the same
machine, in the same run:

* **serial**: nbgrader's ``Autograde``, one student at a time (what ``nbgrader autograde`` does);
* **parallel**: ``lmminstructor.grade.grade`` with ``LMM_BENCH_PAR_JOBS`` workers (default 2).

Rows: seconds per notebook both ways, the speed-up (target >= 1.6 with 2 workers), and whether every
score in the two gradebooks is identical (1 = yes). Then, for one perfect submission of the first
assignment, executed with nbclient (the engine nbgrader uses) with cell timing on: kernel start-up,
the first code cell (the imports), the rest of the notebook, and nbgrader's own overhead (the mean
serial autograde of the perfect submissions of that assignment minus the three), plus the three
slowest cells and the serial seconds per assignment and kind of submission (printed).

Wall-clock times on a shared machine: the load average is printed with the results.
"""

import functools
import os
import shutil
import tempfile
import time
from datetime import datetime
from pathlib import Path

from lmminstructor import autograde_demo as ag
from lmminstructor import grade as g

N_STUDENTS = int(os.environ.get("LMM_BENCH_PAR_STUDENTS", "6"))
ASSIGNMENTS = os.environ.get("LMM_BENCH_PAR_ASSIGNMENTS", "section1 section2").split()
JOBS = int(os.environ.get("LMM_BENCH_PAR_JOBS", "2"))
KINDS = ("perfect", "half", "blank")


def _class(course: Path) -> list[str]:
    """Release every assignment and write the submissions; returns the student ids."""
    ag.make_course(course, assignments=ASSIGNMENTS)
    students = [f"{KINDS[i % 3]}{i:02d}" for i in range(N_STUDENTS)]
    for assignment in ASSIGNMENTS:
        key = ag.analyse_master(next((course / "source" / assignment).glob("*.ipynb")))
        ag.generate_assignment(course, assignment)
        ag.make_submissions(course, key, [(k, "") for k in KINDS])
        for student in students:
            shutil.copytree(course / "submitted" / student[:-2] / assignment,
                            course / "submitted" / student / assignment)
    for kind in KINDS:
        shutil.rmtree(course / "submitted" / kind)
    return students


def _scores(course: Path) -> dict:
    from nbgrader.api import Gradebook

    out = {}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", ag.COURSE_ID) as gb:
        for assignment in ASSIGNMENTS:
            for sub in gb.assignment_submissions(assignment):
                out[(assignment, sub.student.id)] = {gr.name: gr.score for nb in sub.notebooks
                                                     for gr in nb.grades}
    return out


def _cell_seconds(cell) -> float:
    t = cell.get("metadata", {}).get("execution", {})
    try:
        start = datetime.fromisoformat(t["iopub.execute_input"].replace("Z", "+00:00"))
        end = datetime.fromisoformat(t["shell.execute_reply"].replace("Z", "+00:00"))
    except (KeyError, ValueError):
        return 0.0
    return (end - start).total_seconds()


def _breakdown(course: Path, serial_per_notebook: float) -> dict:
    """Kernel start, imports, execution and nbgrader overhead for one perfect submission."""
    from nbclient import NotebookClient

    assignment = ASSIGNMENTS[0]
    key = ag.analyse_master(next((course / "source" / assignment).glob("*.ipynb")))
    nb = ag.perfect_notebook(course, key)
    folder = Path(tempfile.mkdtemp(prefix="lmm-bench-cells-", dir=course))
    client = NotebookClient(nb, timeout=300, kernel_name="python3", record_timing=True,
                            resources={"metadata": {"path": str(folder)}})
    os.environ["NBGRADER_EXECUTION"] = "autograde"  # as during grading: widgets return a static note
    try:
        t0 = time.perf_counter()
        with client.setup_kernel():
            t1 = time.perf_counter()
            for index, cell in enumerate(nb.cells):
                client.execute_cell(cell, index)
            t2 = time.perf_counter()
    finally:
        os.environ.pop("NBGRADER_EXECUTION", None)
    code = [c for c in nb.cells if c.cell_type == "code"]
    imports = _cell_seconds(code[0]) if code else 0.0
    slow = sorted(((i, _cell_seconds(c), c.source.splitlines()[0][:60] if c.source else "")
                   for i, c in enumerate(nb.cells) if c.cell_type == "code"), key=lambda x: -x[1])[:3]
    return {"kernel": t1 - t0, "imports": imports, "execution": (t2 - t1) - imports,
            "overhead": serial_per_notebook - (t2 - t0), "slowest": slow, "assignment": assignment}


@functools.lru_cache(maxsize=1)
def _run() -> dict:
    load = [os.getloadavg()[0]]
    with tempfile.TemporaryDirectory(prefix="lmm-bench-par-") as tmp:
        serial = Path(tmp) / "serial"
        students = _class(serial)
        parallel = Path(tmp) / "parallel"
        shutil.copytree(serial, parallel)
        ag.write_config(parallel)
        n = len(students) * len(ASSIGNMENTS)
        per_assignment, per_kind = {}, {}
        for assignment in ASSIGNMENTS:
            t0 = time.perf_counter()
            for student in students:
                t1 = time.perf_counter()
                ag.autograde_student(serial, assignment, student)
                per_kind.setdefault((assignment, student[:-2]), []).append(time.perf_counter() - t1)
            per_assignment[assignment] = time.perf_counter() - t0
        t_serial = sum(per_assignment.values())
        load.append(os.getloadavg()[0])
        t0 = time.perf_counter()
        rows = []
        for assignment in ASSIGNMENTS:
            rows += g.grade(parallel, assignment, jobs=JOBS, progress=open(os.devnull, "w"))  # noqa: SIM115
        t_parallel = time.perf_counter() - t0
        worker = sum(r.seconds for r in rows) / len(rows)
        write = sum(r.write_seconds for r in rows) / len(rows)
        load.append(os.getloadavg()[0])
        same = _scores(serial) == _scores(parallel) and len(_scores(serial)) == n
        perfect = per_kind[(ASSIGNMENTS[0], "perfect")]
        parts = _breakdown(serial, sum(perfect) / len(perfect))
    print(f"[bench_grading_parallel] {len(students)} students x {len(ASSIGNMENTS)} assignments "
          f"({', '.join(ASSIGNMENTS)}), {JOBS} workers; serial {t_serial:.0f} s, "
          f"parallel {t_parallel:.0f} s; "
          f"load average {load[0]:.1f} -> {load[1]:.1f} -> {load[2]:.1f} on {os.cpu_count()} cores")
    print(f"[bench_grading_parallel] slowest cells of {parts['assignment']} (index, s, first line): "
          + "; ".join(f"{i}: {s:.2f} s {line!r}" for i, s, line in parts["slowest"]))
    print("[bench_grading_parallel] serial s per notebook: "
          + ", ".join(f"{a} {t / len(students):.1f}" for a, t in per_assignment.items()) + "; by kind: "
          + ", ".join(f"{a}/{k} {sum(ts) / len(ts):.1f}" for (a, k), ts in per_kind.items()))
    print(f"[bench_grading_parallel] parallel: a worker took {worker:.1f} s per notebook (nbgrader's "
          f"autograde in a private copy), the main process {write:.2f} s (replay and gradebook writes)")
    return {"serial": t_serial / n, "parallel": t_parallel / n, "speedup": t_serial / t_parallel,
            "write": write,
            "same": same, "parts": parts}


def bench_grading_serial_per_notebook():
    return dict(name="grading: serial nbgrader, s per notebook", value=_run()["serial"], unit="s", target="-")


def bench_grading_parallel_per_notebook():
    return dict(name=f"grading: make grade JOBS={JOBS}, s per notebook (wall)", value=_run()["parallel"],
                unit="s", target="-")


def bench_grading_speedup():
    return dict(name=f"grading: speed-up, {JOBS} workers vs serial", value=_run()["speedup"], unit="x",
                target=">= 1.6")


def bench_grading_scores_identical():
    return dict(name="grading: parallel scores identical to serial (1 = yes)", value=float(_run()["same"]),
                unit="bool", target="= 1")


def bench_grading_main_process_per_notebook():
    return dict(name="grading: main process (replay + gradebook writes), s per notebook",
                value=_run()["write"], unit="s", target="-")


def _part(name, label):
    def bench():
        parts = _run()["parts"]
        return dict(name=f"one {parts['assignment']} notebook: {label}", value=parts[name], unit="s",
                    target="-")
    return bench


bench_grading_time_1_kernel_start = _part("kernel", "kernel start-up")
bench_grading_time_2_imports = _part("imports", "first code cell (imports)")
bench_grading_time_3_execution = _part("execution", "the other cells")
bench_grading_time_4_nbgrader = _part("overhead", "nbgrader overhead (autograde - the above)")
