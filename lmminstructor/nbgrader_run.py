"""Run nbgrader's converters in this process, quietly, collecting what they report.

The autograde demo (:mod:`lmminstructor.autograde_demo`) and class-scale grading
(:mod:`lmminstructor.grade`) both call nbgrader's ``GenerateAssignment``, ``Autograde`` and
``GenerateFeedback`` apps for one course folder. This module is their one way of doing so: the
course's ``nbgrader_config.py`` with the course folder as root, nbgrader's warnings and errors kept
for a summary (not printed), stray stderr (kernel start-up, SQLAlchemy) sent to a log file, and one
student's failure returned as ``ok=False`` instead of raised.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
import tempfile
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .paths import venv_on_path

__all__ = ["KEPT", "load_config", "Capture", "quiet_stderr", "run_converter", "autograde_keeping_previous"]

#: The note added when a failed re-grade puts the previous autograded notebooks back
KEPT = "the previous autograded version and grade are kept"


def load_config(course: Path):
    """The course's ``nbgrader_config.py`` (if any) with ``course`` as ``CourseDirectory.root``."""
    from traitlets.config import Config
    from traitlets.config.loader import PyFileConfigLoader

    course = Path(course)
    cfg = Config()
    if (course / "nbgrader_config.py").exists():
        cfg = PyFileConfigLoader("nbgrader_config.py", path=str(course)).load_config()
    cfg.CourseDirectory.root = str(course)
    return cfg


class Capture(logging.Handler):
    """Collect an nbgrader app's warnings and errors (minus its routine chatter) in :attr:`lines`."""

    NOISE = ("Removing existing", "Updating existing", "Removing failed", "TCP without encryption",
             "Please see the", "There was an error processing assignment '")

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if not any(n in text for n in self.NOISE):
            self.lines.append(text)

    def messages(self) -> list[str]:
        """One line per message: a traceback's last line, any other message's first line."""
        out = []
        for line in self.lines:
            text = line.strip()
            if text:
                out.append(text.splitlines()[-1] if text.startswith("Traceback") else text.splitlines()[0])
        return out


@contextmanager
def quiet_stderr(logfile: Path) -> Iterator[None]:
    """Send stray output on file descriptor 2 and Python warnings to ``logfile``, not the terminal."""
    sys.stderr.flush()
    saved = os.dup(2)
    with open(logfile, "a", encoding="utf-8") as fh, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        os.dup2(fh.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)


def run_converter(converter_cls, course: Path, assignment: str, student: str = "*",
                  logfile: Path | None = None) -> tuple[bool, list[str]]:
    """Run one nbgrader converter (with ``--force``) for ``assignment`` and ``student``; never raises.

    Parameters
    ----------
    converter_cls : type
        ``nbgrader.converters.GenerateAssignment``, ``Autograde``, ``GenerateFeedback`` or a subclass.
    course : path
        The course folder (holding ``nbgrader_config.py``, ``source/``, ``submitted/`` ...).
    assignment, student : str
        nbgrader's assignment id and student id (``"*"``: every student).
    logfile : path, optional
        Where stray stderr goes. Default: ``course/autograde.log``.

    Returns
    -------
    (ok, messages)
        ``ok`` is False when nbgrader reported a failure; ``messages`` holds its warnings and errors,
        one line each (see :meth:`Capture.messages`).
    """
    from nbgrader.converters import NbGraderException
    from nbgrader.coursedir import CourseDirectory

    course = Path(course)
    venv_on_path()
    cfg = load_config(course)
    coursedir = CourseDirectory(config=cfg)
    coursedir.assignment_id = assignment
    coursedir.student_id = student
    app = converter_cls(coursedir=coursedir, config=cfg)
    app.force = True
    capture = Capture()
    app.log.addHandler(capture)
    old_level = app.log.level
    app.log.setLevel(logging.WARNING)
    ok = True
    try:
        with quiet_stderr(logfile or course / "autograde.log"):
            app.start()
    except NbGraderException:
        ok = False
    except Exception as exc:  # noqa: BLE001 - one student's failure must never stop the batch
        ok = False
        capture.lines.append(f"{type(exc).__name__}: {exc}")
    finally:
        app.log.removeHandler(capture)
        app.log.setLevel(old_level)
    return ok, capture.messages()


def autograde_keeping_previous(converter_cls, course: Path, assignment: str, student: str,
                               logfile: Path | None = None) -> tuple[bool, list[str]]:
    """Autograde one student with ``converter_cls`` (``Autograde`` or a subclass); never raises.

    When nbgrader fails on a re-submission it has already deleted the student's previous autograded
    notebooks (the gradebook keeps the old scores); they are put back here and :data:`KEPT` is added to
    the messages, so nothing already graded is lost. Returns ``(ok, messages)`` as :func:`run_converter`.
    """
    graded = Path(course) / "autograded" / student / assignment
    backup = None
    if graded.exists():
        backup = Path(tempfile.mkdtemp(prefix="lmm-autograded-")) / assignment
        shutil.copytree(graded, backup)
    try:
        ok, messages = run_converter(converter_cls, course, assignment, student, logfile)
        if not ok and backup is not None:
            if graded.exists():
                shutil.rmtree(graded)
            shutil.copytree(backup, graded)
            messages.append(KEPT)
    finally:
        if backup is not None:
            shutil.rmtree(backup.parent, ignore_errors=True)
    return ok, messages
