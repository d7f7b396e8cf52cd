"""Where the instructors' repository is, and the one fix nbgrader needs to find its tools."""

from __future__ import annotations

import os
import sys
from pathlib import Path

__all__ = ["ROOT", "SOURCE", "NBGRADER_CONFIG", "venv_on_path"]

#: The instructors' repository (the folder holding ``source/``, ``lmmcourse/`` and ``lmminstructor/``).
ROOT: Path = Path(__file__).resolve().parents[1]
#: The masters: ``source/<assignment>/<notebook>.ipynb``.
SOURCE: Path = ROOT / "source"
#: The course's nbgrader configuration (read by the build, the demo and the instructor's commands).
NBGRADER_CONFIG: Path = ROOT / "nbgrader_config.py"


def venv_on_path() -> None:
    """Put this interpreter's ``bin/`` first on ``PATH`` (once) for this process.

    nbgrader shells out to ``alembic`` to create its gradebook, and ``alembic`` lives next to the
    interpreter of the virtual environment, which need not be on ``PATH`` when a tool is run as
    ``.venv/bin/python -m ...``.
    """
    bindir = str(Path(sys.executable).parent)
    if bindir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bindir + os.pathsep + os.environ.get("PATH", "")
