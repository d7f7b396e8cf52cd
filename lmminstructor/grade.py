"""Autograde a whole class in parallel: ``make grade ASSIGNMENT=<id> [JOBS=N]``.

``python -m lmminstructor.grade <assignment> [--jobs N] [--force] [--scheduler tcp://HOST:PORT]
[--timeout S] [--course DIR]`` autogrades every submission under ``submitted/*/<assignment>/`` of an
nbgrader course directory (default: the current directory) and gives the scores nbgrader's own serial
``nbgrader autograde`` gives, in a fraction of the time.

How it stays equal to serial nbgrader, and safe for the gradebook
-----------------------------------------------------------------
nbgrader keeps every grade in one SQLite file (``gradebook.db``), which concurrent writers would
corrupt or lock. Grading is split in two:

1. **Execution, in parallel.** Each submission is graded by nbgrader's real ``Autograde`` converter in a
   private, throw-away course folder (the course's ``nbgrader_config.py``, a snapshot of the gradebook,
   ``source/<assignment>/``, ``data/`` and the student's submission, shipped as bytes in a
   :class:`Job`). Locally each job runs in a forked process of its own session (``--jobs`` at a time), so
   a crash or a time-out (``--timeout``, per submission; the whole process group, kernel included, is
   killed) costs only that submission. With ``--scheduler`` the same jobs go to a Dask cluster instead.
   The private gradebooks are thrown away.
2. **Gradebook writes, one at a time, by nbgrader itself.** For every executed submission, the parent
   process runs nbgrader's ``Autograde`` again on the real course folder, with one change: its
   ``Execute`` preprocessor is replaced by :class:`ReplayExecution`, which hands over the notebook the
   worker executed (after checking that its cells are the ones nbgrader's sanitising pass just produced
   from the same submission). Everything else (sanitising, restoring test cells, timestamps and late
   penalties, ``SaveAutoGrades``, the autograded copy under ``autograded/``) is nbgrader's own code,
   running serially, so the gradebook sees exactly the writes a serial ``nbgrader autograde`` makes.

Merging per-worker gradebooks through nbgrader's ``Gradebook`` API was the alternative; it would have
meant re-implementing what ``SaveAutoGrades`` and ``Autograde.init_assignment`` record (grades,
comments, timestamps, missing notebooks), which replaying avoids.

A submission whose files and masters are unchanged since it was last graded by this command (a SHA-256
of ``submitted/<student>/<assignment>/`` and ``source/<assignment>/``, kept in
``autograded/.lmm-grade/<assignment>.json``) is not graded again unless ``--force``.

Output: a progress line (done/total, failures, ETA; redrawn in place on a terminal, one line per
submission in a CI log), a summary table (student, score, maximum, failed test cells, seconds, notes) and
``grades.csv`` (``nbgrader export``: every student and assignment in the gradebook).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import logging
import multiprocessing
import os
import pickle
import signal
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import wait as wait_for
from pathlib import Path
from typing import Any, TextIO

import nbformat

from . import autograde_demo as ag
from .conventions import grade_id, is_answer_cell, is_grade
from .nbgrader_run import KEPT, autograde_keeping_previous, load_config, run_converter
from .paths import venv_on_path

__all__ = ["Job", "Outcome", "GradeRow", "Progress", "ReplayExecution", "find_submissions", "make_job",
           "execute_job", "replay_autograde", "grade", "format_summary", "write_grades_csv", "main"]

CACHE_DIR = ".lmm-grade"  # under autograded/: git-ignored with it, never read by nbgrader
NOISE = ("Attribute '", "Missing grade", "There was an error processing", "Skipping unknown")
DEFAULT_TIMEOUT = 1800.0  # seconds per submission (the course's per-cell limit is 60 s)


# ----------------------------------------------------------------------------- course helpers
def _coursedir(course: Path):
    from nbgrader.coursedir import CourseDirectory

    return CourseDirectory(config=load_config(course))


def find_submissions(course: Path, assignment: str) -> list[str]:
    """Student ids with a folder ``submitted/<student>/<assignment>/`` (sorted)."""
    root = Path(course) / "submitted"
    return sorted(p.parent.name for p in root.glob(f"*/{assignment}") if p.is_dir()
                  and not p.parent.name.startswith("."))


def _files(folder: Path, base: Path) -> dict[str, bytes]:
    out = {}
    if folder.is_dir():
        for p in sorted(folder.rglob("*")):
            if p.is_file() and ".ipynb_checkpoints" not in p.parts:
                out[p.relative_to(base).as_posix()] = p.read_bytes()
    return out


def _digest(files: dict[str, bytes]) -> str:
    h = hashlib.sha256()
    for name in sorted(files):
        h.update(name.encode() + b"\0" + hashlib.sha256(files[name]).digest())
    return h.hexdigest()


def _snapshot_gradebook(db: Path) -> bytes:
    """A consistent copy of the SQLite gradebook (the backup API, safe while nbgrader writes it)."""
    with tempfile.TemporaryDirectory(prefix="lmm-gb-") as tmp:
        copy = Path(tmp) / "gradebook.db"
        src = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
        dst = sqlite3.connect(copy)
        try:
            src.backup(dst)
        finally:
            src.close()
            dst.close()
        return copy.read_bytes()


# ----------------------------------------------------------------------------- jobs (run by workers)
@dataclass
class Job:
    """Everything a worker needs to grade one submission, as bytes (so it can travel to a cluster).

    ``files`` maps paths relative to a course folder (``nbgrader_config.py``, ``gradebook.db``,
    ``source/<assignment>/...``, ``data/...``, ``submitted/<student>/<assignment>/...``) to contents.
    """

    assignment: str
    student: str
    files: dict[str, bytes]
    digest: str = ""


@dataclass
class Outcome:
    """What a worker sends back: nbgrader's verdict and the executed notebooks (``name -> JSON text``)."""

    student: str
    ok: bool
    messages: list[str] = field(default_factory=list)
    notebooks: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    crashed: bool = False  # the worker died or was stopped: nothing is replayed


def make_job(course: Path, assignment: str, student: str,
             shared: dict[str, bytes] | None = None) -> Job:
    """Collect the files of one submission (plus ``shared``: config, gradebook, masters, data)."""
    course = Path(course)
    mine = _files(course / "submitted" / student / assignment, course)
    files = dict(shared or {})
    files.update(mine)
    masters = {k: v for k, v in files.items() if k.startswith(f"source/{assignment}/")}
    return Job(assignment, student, files, _digest({**mine, **masters}))


def _shared_files(course: Path, assignment: str) -> dict[str, bytes]:
    course = Path(course)
    shared = _files(course / "source" / assignment, course)
    shared.update(_files(course / "data", course))
    if (course / "nbgrader_config.py").exists():
        shared["nbgrader_config.py"] = (course / "nbgrader_config.py").read_bytes()
    shared["gradebook.db"] = _snapshot_gradebook(course / "gradebook.db")
    return shared


def execute_job(job: Job) -> Outcome:
    """Grade one submission with nbgrader's ``Autograde`` in a private, throw-away course folder.

    Runs on a worker (a forked process, or a Dask worker). Returns the executed (autograded) notebooks;
    the private gradebook is discarded.
    """
    from nbgrader.converters import Autograde

    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix=f"lmm-grade-{job.student}-") as tmp:
        course = Path(tmp) / "course"
        for rel, data in job.files.items():
            path = course / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        ok, messages = run_converter(Autograde, course, job.assignment, job.student,
                                     Path(tmp) / "nbgrader.log")
        graded = course / "autograded" / job.student / job.assignment
        notebooks = {p.name: p.read_text(encoding="utf-8") for p in sorted(graded.glob("*.ipynb"))}
    return Outcome(job.student, ok, messages, notebooks, time.perf_counter() - start)


# ----------------------------------------------------------------------------- replay (parent, serial)
def _replay_class():
    from nbgrader.preprocessors import NbGraderPreprocessor

    class _ReplayExecution(NbGraderPreprocessor):
        """Stands in for nbgrader's ``Execute``: returns the notebook a worker executed."""

        executed: dict[str, str] = {}

        def preprocess(self, nb, resources):
            name = resources["unique_key"] + ".ipynb"
            text = self.executed.get(name)
            if text is None:
                raise RuntimeError(f"{name} was not executed by the worker (see the worker's messages)")
            done = nbformat.reads(text, as_version=4)
            mine = [(c.cell_type, c.source) for c in nb.cells]
            theirs = [(c.cell_type, c.source) for c in done.cells]
            if mine != theirs:
                raise RuntimeError(f"{name}: the executed copy does not match the sanitised submission; "
                                   "regrade this student with --force")
            return done, resources

    return _ReplayExecution


ReplayExecution: type | None = None  # set on first use (nbgrader is imported lazily)


def replay_autograde(course: Path, assignment: str, outcome: Outcome,
                     logfile: Path) -> tuple[bool, list[str]]:
    """Run nbgrader's ``Autograde`` on the real course with execution replaced by the worker's result.

    Like :func:`lmminstructor.autograde_demo.autograde_student`, a failed re-grade puts the previous
    autograded notebooks back (nbgrader deletes them first); the gradebook keeps the old scores.
    """
    global ReplayExecution
    from nbgrader.converters import Autograde
    from nbgrader.preprocessors import Execute

    if ReplayExecution is None:
        ReplayExecution = _replay_class()
    replay = type("ReplayExecution", (ReplayExecution,), {"executed": dict(outcome.notebooks)})

    class ReplayAutograde(Autograde):
        def _init_preprocessors(self) -> None:
            if self._sanitizing:
                return super()._init_preprocessors()
            self.exporter._preprocessors = []
            for pp in self.autograde_preprocessors:
                if isinstance(pp, type) and issubclass(pp, Execute):
                    pp = replay
                self.exporter.register_preprocessor(pp)

    return autograde_keeping_previous(ReplayAutograde, course, assignment, outcome.student, logfile)


# ----------------------------------------------------------------------------- schedulers
def _child(job: Job, result: Path) -> None:  # pragma: no cover - runs in the forked process
    os.setsid()  # own process group: a time-out kills the kernel too
    try:
        outcome = execute_job(job)
    except BaseException as exc:  # noqa: BLE001
        outcome = Outcome(job.student, False, [f"{type(exc).__name__}: {exc}"])
    result.write_bytes(pickle.dumps(outcome))
    os._exit(0)


def _run_local(jobs: Sequence[Job], n_workers: int, timeout: float,
               on_done: Callable[[Outcome], None]) -> None:
    """Run ``jobs`` in forked processes, ``n_workers`` at a time; call ``on_done`` as each finishes."""
    import nbgrader.converters  # noqa: F401 - imported once here, inherited by every fork

    ctx = multiprocessing.get_context("fork")
    queue = list(jobs)
    running: dict[Any, tuple[Job, float, Path]] = {}
    with tempfile.TemporaryDirectory(prefix="lmm-grade-results-") as tmp:
        def fill() -> None:
            while queue and len(running) < n_workers:
                job = queue.pop(0)
                result = Path(tmp) / f"{len(queue)}-{job.student}.pickle"
                proc = ctx.Process(target=_child, args=(job, result), daemon=False)
                proc.start()
                running[proc] = (job, time.monotonic(), result)

        while queue or running:
            fill()
            wait_for([p.sentinel for p in running], timeout=0.5)
            now = time.monotonic()
            finished = []
            for proc in list(running):
                job, started, result = running[proc]
                if proc.is_alive() and now - started <= timeout:
                    continue
                if proc.is_alive():
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(proc.pid, signal.SIGKILL)
                    proc.join()
                    outcome = Outcome(job.student, False, [f"stopped after the {timeout:g} s limit per "
                                                           "submission (--timeout)"], crashed=True)
                else:
                    proc.join()
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(proc.pid, signal.SIGKILL)  # a kernel left behind
                    if result.exists():
                        outcome = pickle.loads(result.read_bytes())
                    else:
                        died = f"the worker died (exit code {proc.exitcode})"
                        outcome = Outcome(job.student, False, [died], crashed=True)
                outcome.seconds = outcome.seconds or now - started
                del running[proc]
                finished.append(outcome)
            # refill the free slots first: workers execute while this process writes the gradebook
            fill()
            for outcome in finished:
                on_done(outcome)


def _run_dask(jobs: Sequence[Job], scheduler: str, timeout: float,
              on_done: Callable[[Outcome], None]) -> None:
    """Send ``jobs`` to the Dask cluster at ``scheduler``; a failed task costs only its submission."""
    try:
        from dask.distributed import Client, as_completed
    except ImportError as exc:
        raise RuntimeError("--scheduler needs Dask: pip install -e '.[grading]' (dask, distributed)") from exc
    with Client(scheduler, timeout=30) as client:
        futures = {client.submit(execute_job, job, pure=False, key=f"grade-{job.assignment}-{job.student}-"
                                 f"{time.time_ns()}"): job for job in jobs}
        started = time.monotonic()
        try:
            for future in as_completed(futures, timeout=timeout * max(1, len(jobs))):
                job = futures[future]
                try:
                    outcome = future.result()
                except Exception as exc:  # noqa: BLE001 - e.g. KilledWorker
                    outcome = Outcome(job.student, False, [f"the Dask task failed: {type(exc).__name__}: "
                                                           f"{exc}"], crashed=True)
                if not outcome.seconds:
                    outcome.seconds = time.monotonic() - started
                on_done(outcome)
        except TimeoutError:
            for future, job in futures.items():
                if not future.done():
                    future.cancel()
                    on_done(Outcome(job.student, False, ["the Dask cluster did not finish in time"],
                                    crashed=True))


# ----------------------------------------------------------------------------- progress and summary
def _clock(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


class Progress:
    """A plain-text progress bar: ``[####....] 3/30 done, 0 failed, ETA 1m20s``.

    On a terminal the line is redrawn in place; elsewhere (a CI log, a pipe) one line is printed per
    finished submission, so the log reads as a history.
    """

    def __init__(self, total: int, workers: int, stream: TextIO | None = None, width: int = 24):
        self.total, self.workers, self.width = total, max(1, workers), width
        self.stream = stream if stream is not None else sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.done = self.failed = 0
        self.start = time.monotonic()

    def line(self, now: float | None = None) -> str:
        now = time.monotonic() if now is None else now
        elapsed = now - self.start
        filled = int(self.width * self.done / self.total) if self.total else self.width
        eta = "-" if not self.done else _clock(elapsed / self.done * (self.total - self.done))
        return (f"[{'#' * filled}{'.' * (self.width - filled)}] {self.done}/{self.total} done, "
                f"{self.failed} failed, elapsed {_clock(elapsed)}, ETA {eta}")

    def update(self, student: str, ok: bool, seconds: float) -> None:
        self.done += 1
        self.failed += not ok
        text = self.line()
        if self.tty:
            self.stream.write("\r\033[K" + text)
            if self.done == self.total:
                self.stream.write("\n")
        else:
            self.stream.write(f"{text}  ({student}: {'graded' if ok else 'FAILED'}, {seconds:.1f} s)\n")
        self.stream.flush()


@dataclass
class GradeRow:
    """One line of the summary."""

    student: str
    score: float | None
    max_score: float
    failed_cells: int | None
    seconds: float
    status: str  # "graded", "unchanged", "FAILED"
    notes: list[str] = field(default_factory=list)
    write_seconds: float = 0.0  # nbgrader's replay and gradebook writes in the main process


def _failed_cells(course: Path, assignment: str, student: str) -> int:
    """Autograded test cells of the autograded copy whose execution raised (they score 0)."""
    n = 0
    for path in sorted((course / "autograded" / student / assignment).glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            if cell.cell_type == "code" and is_grade(cell) and not is_answer_cell(cell) and grade_id(cell):
                n += any(o.get("output_type") == "error" for o in cell.get("outputs", []))
    return n


def _scores(course: Path, assignment: str) -> tuple[dict[str, float], float]:
    from nbgrader.api import Gradebook, MissingEntry

    coursedir = _coursedir(course)
    out = {}
    with Gradebook(coursedir.db_url, coursedir.course_id) as gb:
        try:
            max_score = float(gb.find_assignment(assignment).max_code_score)
        except MissingEntry:
            return {}, 0.0
        for sub in gb.assignment_submissions(assignment):
            out[sub.student.id] = float(sub.code_score)
    return out, max_score


def _notebooks(course: Path, assignment: str) -> list[str]:
    from nbgrader.api import Gradebook

    coursedir = _coursedir(course)
    with Gradebook(coursedir.db_url, coursedir.course_id) as gb:
        return sorted(f"{nb.name}.ipynb" for nb in gb.find_assignment(assignment).notebooks)


def write_grades_csv(course: Path, to: Path | None = None) -> Path:
    """``nbgrader export``: every student, assignment, score and maximum, to ``grades.csv``."""
    from nbgrader.api import Gradebook
    from nbgrader.plugins.export import CsvExportPlugin

    coursedir = _coursedir(course)
    dest = Path(to) if to else Path(course) / "grades.csv"
    with Gradebook(coursedir.db_url, coursedir.course_id) as gb:
        CsvExportPlugin(to=str(dest)).export(gb)
    return dest


def format_summary(rows: Iterable[GradeRow]) -> str:
    """The summary as a fixed-width text table."""
    head = ("student", "score", "max", "failed cells", "seconds", "status", "notes")
    lines = [(r.student, "-" if r.score is None else f"{r.score:g}", f"{r.max_score:g}",
              "-" if r.failed_cells is None else str(r.failed_cells), f"{r.seconds:.1f}", r.status,
              "; ".join(dict.fromkeys(r.notes))) for r in rows]
    widths = [max(len(x) for x in col) for col in zip(head, *lines, strict=False)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths[:-1]) + "  {}"
    out = [fmt.format(*head), fmt.format(*("-" * w for w in widths[:-1]), "-----")]
    out += [fmt.format(*line).rstrip() for line in lines]
    return "\n".join(out)


# ----------------------------------------------------------------------------- the command
def _check_course(course: Path, assignment: str) -> None:
    from nbgrader.api import Gradebook, MissingEntry

    if not (course / "gradebook.db").exists():
        raise ValueError(f"{course} has no gradebook.db: run `nbgrader generate_assignment {assignment}` "
                         "there first (or pass --course with the course folder)")
    coursedir = _coursedir(course)
    with Gradebook(coursedir.db_url, coursedir.course_id) as gb:
        try:
            gb.find_assignment(assignment)
        except MissingEntry:
            raise ValueError(f"assignment {assignment!r} is not in {course / 'gradebook.db'}: run "
                             f"`nbgrader generate_assignment {assignment}` first") from None


def grade(course: Path | str, assignment: str, jobs: int | None = None, force: bool = False,
          scheduler: str | None = None, timeout: float = DEFAULT_TIMEOUT,
          students: Sequence[str] | None = None, progress: TextIO | None = None) -> list[GradeRow]:
    """Autograde every submission of ``assignment`` in ``course`` in parallel (see the module docstring).

    Parameters
    ----------
    course : path
        The nbgrader course folder (holding ``nbgrader_config.py``, ``gradebook.db``, ``submitted/``).
    assignment : str
        The assignment id, e.g. ``"section1"``.
    jobs : int, optional
        Parallel workers on this machine (default: ``os.cpu_count()``); ignored with ``scheduler``.
    force : bool
        Grade every submission, also those unchanged since they were last graded.
    scheduler : str, optional
        Address of a Dask scheduler (``tcp://host:8786``): the executions run on that cluster.
    timeout : float
        Seconds one submission may take before its worker is stopped (local workers).
    students : sequence of str, optional
        Grade only these students (default: every folder under ``submitted/``).
    progress : text stream, optional
        Where the progress bar goes (default: standard error).

    Returns
    -------
    list of GradeRow
        One row per student, in student order; ``status`` is ``"graded"``, ``"unchanged"`` or
        ``"FAILED"`` (with the reason in ``notes``).
    """
    course = Path(course).resolve()
    _check_course(course, assignment)
    venv_on_path()
    for noisy in ("traitlets", "nbgrader", "alembic"):
        logging.getLogger(noisy).setLevel(logging.ERROR)
    everyone = find_submissions(course, assignment)
    chosen = [s for s in everyone if students is None or s in students]
    cache_file = course / "autograded" / CACHE_DIR / f"{assignment}.json"
    cache = json.loads(cache_file.read_text(encoding="utf-8")) if cache_file.exists() else {}
    shared = _shared_files(course, assignment)
    todo, rows = [], {}
    for student in chosen:
        job = make_job(course, assignment, student, shared)
        unchanged = (cache.get(student) == job.digest
                     and (course / "autograded" / student / assignment).is_dir())
        if unchanged and not force:
            rows[student] = GradeRow(student, None, 0.0, None, 0.0, "unchanged")
        else:
            todo.append(job)
    logfile = course / ".nbgrader.log"
    notebooks = _notebooks(course, assignment)
    n_workers = max(1, jobs or os.cpu_count() or 1)
    bar = Progress(len(todo), n_workers, progress)
    digests = {job.student: job.digest for job in todo}

    def on_done(outcome: Outcome) -> None:
        notes = list(outcome.messages)
        ok = False
        t0 = time.perf_counter()
        if not outcome.crashed:
            ok, messages = replay_autograde(course, assignment, outcome, logfile)
            if not ok:  # say what is wrong in words an instructor can act on, then nbgrader's last error
                notes = ag.preflight(course, assignment, outcome.student, notebooks)
                errors = [m for m in messages if m != KEPT and not m.startswith(NOISE)]
                notes += errors[-1:] if errors and not notes else []
                notes += [KEPT] if KEPT in messages else []
        if ok:
            cache[outcome.student] = digests[outcome.student]
        else:
            cache.pop(outcome.student, None)
        rows[outcome.student] = GradeRow(outcome.student, None, 0.0, None, outcome.seconds,
                                         "graded" if ok else "FAILED", notes if not ok else [],
                                         time.perf_counter() - t0)
        bar.update(outcome.student, ok, outcome.seconds)

    if todo:
        if scheduler:
            _run_dask(todo, scheduler, timeout, on_done)
        else:
            _run_local(todo, n_workers, timeout, on_done)
    cache_file.parent.mkdir(parents=True, exist_ok=True)
    cache_file.write_text(json.dumps(cache, indent=1, sort_keys=True), encoding="utf-8")
    scores, max_score = _scores(course, assignment)
    out = []
    for student in chosen:
        row = rows[student]
        row.score, row.max_score = scores.get(student), max_score
        if (course / "autograded" / student / assignment).is_dir():
            row.failed_cells = _failed_cells(course, assignment, student)
        out.append(row)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lmminstructor.grade",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("assignment", help="assignment id, e.g. section1")
    parser.add_argument("--jobs", "-j", type=int, default=None,
                        help=f"parallel workers (default: the machine's cores, here {os.cpu_count()})")
    parser.add_argument("--force", action="store_true", help="regrade unchanged submissions too")
    parser.add_argument("--scheduler", help="Dask scheduler address (tcp://host:8786): run the executions "
                                            "on that cluster")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT,
                        help=f"seconds one submission may take (default {DEFAULT_TIMEOUT:g})")
    parser.add_argument("--course", type=Path, default=Path.cwd(),
                        help="nbgrader course folder (default: the current folder)")
    parser.add_argument("--students", nargs="*", help="grade only these students")
    parser.add_argument("--no-csv", action="store_true", help="do not write grades.csv")
    args = parser.parse_args(argv)
    if args.jobs is not None and args.jobs < 1:
        parser.error("--jobs must be 1 or more")
    try:
        n = len(find_submissions(args.course, args.assignment))
        where = args.scheduler or f"{args.jobs or os.cpu_count()} local workers"
        print(f"grading {args.assignment}: {n} submissions in {args.course.resolve()} on {where}",
              file=sys.stderr)
        start = time.monotonic()
        rows = grade(args.course, args.assignment, args.jobs, args.force, args.scheduler, args.timeout,
                     args.students)
    except (ValueError, RuntimeError, FileNotFoundError) as exc:
        print(f"grade: {exc}", file=sys.stderr)
        return 2
    print(format_summary(rows))
    failed = [r.student for r in rows if r.status == "FAILED"]
    graded = sum(r.status == "graded" for r in rows)
    print(f"\n{graded} graded, {sum(r.status == 'unchanged' for r in rows)} unchanged (use --force to "
          f"regrade), {len(failed)} failed{': ' + ', '.join(failed) if failed else ''}; "
          f"{_clock(time.monotonic() - start)} in all.")
    if not args.no_csv:
        print(f"grades exported to {write_grades_csv(args.course.resolve())}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
