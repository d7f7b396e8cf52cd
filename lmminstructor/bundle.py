"""Student bundle: a folder holding only what students need, checked for leaked answers.

``python -m lmminstructor.bundle [--out DIR] [--binder-repo OWNER/NAME]`` (``make student-bundle``) writes
(default ``student-bundle/``, replaced if it exists):

* ``notebooks/`` (self-study edition), ``release/`` (nbgrader student version), ``data/``;
* the ``lmmcourse`` package, whole (the instructor tools live apart, in ``lmminstructor``);
* ``pyproject.toml``, ``environment.yml``, ``postBuild`` (the same pinned environment, so Binder and
  ``pip install -e .`` work), a ``Makefile`` with ``make lab``, a ``.gitignore`` and a student
  ``README.md`` whose Binder badge points at the bundle's own repository.

Nothing that carries answers is copied: no ``source/``, ``solutions/``, gradebook, tests, tools,
``nbgrader_config.py``, ``lmminstructor``. The bundle is then scanned by :mod:`lmminstructor.leaks` against
the masters, and the
command fails (exit 1, naming file and fragment) if anything leaks. Publish the folder as its own
repository (e.g. ``YOUR-ORG/lmm-continuous-student``) and point Binder and students at that, never at the
instructors' repository, which holds the solutions.
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

import nbformat

from . import leaks
from .conventions import find_masters
from .paths import ROOT
from .timing import estimate_minutes

__all__ = ["DEFAULT_OUT", "DEFAULT_BINDER_REPO", "FOLDERS", "FILES", "FORBIDDEN", "BundleError",
           "notebook_table", "write_bundle", "main"]

DEFAULT_OUT = ROOT / "student-bundle"
DEFAULT_BINDER_REPO = "YOUR-ORG/lmm-continuous-student"
FOLDERS = ("notebooks", "release", "data")
FILES = ("pyproject.toml", "environment.yml", "postBuild")
#: Paths that must never be in the bundle (checked after writing it).
FORBIDDEN = ("source", "solutions", "tests", "tools", "benchmarks", "autograded", "submitted", "feedback",
             "gradebook.db", "nbgrader_config.py", "autograde-demo", "lmminstructor", ".git", ".venv")
IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", ".ipynb_checkpoints", "my_reflections",
                                "*.egg-info", ".DS_Store")

MAKEFILE = """\
# `make lab` sets up a virtual environment in .venv (first time: a few minutes), then opens JupyterLab.
SHELL := /bin/bash
# PYTHON: Python 3.11, 3.12 or 3.13; default: the first of these on PATH that is 3.11 or newer
PYTHON ?= $(shell for p in python3 python3.13 python3.12 python3.11; do command -v $$p >/dev/null 2>&1 \\
  && $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null \\
  && {{ command -v $$p; break; }}; done)
BIN := $(CURDIR)/.venv/bin
STAMP := .venv/.installed-stamp
export PATH := $(BIN):$(PATH)

.PHONY: setup lab
setup: $(STAMP)

$(STAMP): pyproject.toml lmmcourse/jupyterlab_overrides.json
\t@test -n "$(PYTHON)" || {{ echo "Python 3.11 or newer is required: install it, or run" \\
\t  "make lab PYTHON=/path/to/python3"; exit 1; }}
\t@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else \\
\t  "Python 3.11 or newer is required: run make lab PYTHON=/path/to/python3.12")'
\t@test -x $(BIN)/python || $(PYTHON) -m venv .venv
\t$(BIN)/python -m pip install --quiet --upgrade pip
\t$(BIN)/python -m pip install --quiet -e .
\t@# classroom JupyterLab defaults: no news pop-up, no update check (the user's own settings stay)
\t@install -D -m 644 lmmcourse/jupyterlab_overrides.json \\
\t  .venv/share/jupyter/lab/settings/overrides.d/lmmcourse.json
\t@touch $(STAMP)

lab: setup
\t$(BIN)/jupyter lab --LabApp.default_url=/lab/tree/notebooks/{first} $(LAB_ARGS)
"""

GITIGNORE = ".venv/\n__pycache__/\n*.egg-info/\n.ipynb_checkpoints/\n"

README = """\
# Mixed Models for Continuous Data

[![Binder](https://mybinder.org/badge_logo.svg)](https://mybinder.org/v2/gh/{repo}/{branch}?urlpath=lab/tree/notebooks/{first})

An interactive lesson on linear mixed models: random intercepts and slopes, variance components and
the intraclass correlation, contextual effects, ML and REML, likelihood-ratio tests, small-sample
inference, BLUPs and shrinkage, and residual diagnostics, all in Python with `statsmodels`.

## Opening the lesson

**In your browser, nothing to install:** click the *Binder* badge above. The first start can take a few
minutes while the environment is prepared; after that, JupyterLab opens on the first notebook. Binder
sessions are temporary: use *File > Download* to keep your work.

**On your own computer** (Python 3.11, 3.12 or 3.13, on macOS, Linux or Windows with WSL):

```bash
make lab        # creates .venv, installs the pinned packages, opens JupyterLab
```

Without `make` (for example on Windows without WSL): `python -m venv .venv`, activate it
(`.venv\\Scripts\\activate` on Windows, `source .venv/bin/activate` elsewhere), `pip install -e .`, then
`jupyter lab`.
With conda: `conda env create -f environment.yml`, `conda activate lmm-continuous`, `pip install -e .`.

## What to work through

Open the notebooks in `notebooks/` in this order:

{table}

Run the cells from top to bottom (*Run > Run All Cells* works too). Each knowledge check gives
feedback as soon as you set your answer (a letter in quotes, for example `"b"`) and run the cell
below it. Reflections are saved as you type (in `notebooks/my_reflections/`); once you have written
something you can compare your answer with a model answer. Every notebook ends with a searchable
glossary.

## If your course grades the lesson

Your instructor may hand out the graded version instead (the notebooks in `release/`, through
JupyterHub or a link). In that version, write your answers where it says `YOUR CODE HERE` or
`YOUR ANSWER HERE`, keep every cell (do not delete or rename cells or the notebook), run
*Validate* if your JupyterHub shows that button, and submit the notebook under its original name.
"""


class BundleError(RuntimeError):
    """The bundle cannot be written, or it leaks answers."""


def _title(path: Path) -> str:
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            m = re.search(r"^#\s+(.+)$", cell.source, re.M)
            if m:
                return m.group(1).strip()
    return path.stem.replace("_", " ")


def _in_order(paths) -> list[Path]:
    """Sections in order, the final assessment last."""
    return sorted(paths, key=lambda p: (p.name.startswith("final"), p.name))


def notebook_table(notebooks: list[Path], minutes: dict[str, int] | None = None) -> str:
    """A markdown table of the notebooks in order, with the title and estimated time of each.

    ``minutes`` maps a notebook's file name to its estimate (:func:`lmminstructor.timing.estimate_minutes`
    of its master); a notebook without one gets an empty time.
    """
    minutes = minutes or {}
    lines = ["| # | notebook | title | time |", "| ---: | --- | --- | ---: |"]
    for i, p in enumerate(notebooks, 1):
        time = f"{minutes[p.name]} min" if p.name in minutes else ""
        lines.append(f"| {i} | `{p.name}` | {_title(p)} | {time} |")
    return "\n".join(lines)


def _minutes(source: Path) -> dict[str, int]:
    """Estimated minutes of every master under ``source``, by notebook file name."""
    return {path.name: estimate_minutes(nbformat.read(path, as_version=4))
            for _, path in find_masters(source)}


def write_bundle(out: Path = DEFAULT_OUT, root: Path = ROOT, binder_repo: str = DEFAULT_BINDER_REPO,
                 branch: str = "main", check: bool = True,
                 log: Callable[..., object] = print) -> list[leaks.Leak]:
    """Write the student bundle to ``out`` and scan it for leaks.

    Parameters
    ----------
    out : Path
        Destination folder; replaced if it exists (it must not be ``root`` or inside ``source/``).
    root : Path
        The instructors' repository.
    binder_repo, branch : str
        Where the bundle will be published, for the Binder badge of its README.
    check : bool
        Run the leak scan (and the forbidden-path check) on the written bundle.

    Returns
    -------
    list of Leak
        Empty when the bundle is clean.

    Raises
    ------
    BundleError
        When ``notebooks/`` or ``release/`` has not been built, or a forbidden path ended up inside.
    """
    root, out = Path(root).resolve(), Path(out).resolve()
    if out == root or root in out.parents and out.relative_to(root).parts[0] in ("source", "lmmcourse"):
        raise BundleError(f"refusing to write the bundle into {out}: choose an empty folder")
    notebooks = _in_order((root / "notebooks").glob("*.ipynb"))
    if not notebooks or not any((root / "release").glob("*/*.ipynb")):
        raise BundleError("notebooks/ or release/ is empty: run `make build` first")
    if not re.fullmatch(r"[\w.-]+/[\w.-]+", binder_repo):
        raise BundleError(f"--binder-repo must look like OWNER/NAME, got {binder_repo!r}")
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    for folder in FOLDERS:
        if (root / folder).exists():
            shutil.copytree(root / folder, out / folder, ignore=IGNORE)
    shutil.copytree(root / "lmmcourse", out / "lmmcourse", ignore=IGNORE)
    for name in FILES:
        if (root / name).exists():
            shutil.copy2(root / name, out / name)
    first = notebooks[0].name
    (out / "Makefile").write_text(MAKEFILE.format(first=first), encoding="utf-8")
    (out / ".gitignore").write_text(GITIGNORE, encoding="utf-8")
    readme = README.format(repo=binder_repo, branch=branch, first=first,
                           table=notebook_table(_in_order((out / "notebooks").glob("*.ipynb")),
                                                _minutes(root / "source")))
    (out / "README.md").write_text(readme, encoding="utf-8")
    log(f"wrote {out}")
    if not check:
        return []
    present = [p for p in FORBIDDEN if (out / p).exists()]
    if present:
        raise BundleError(f"forbidden paths in the bundle: {present}")
    found = leaks.check(out, paths=[out], source=root / "source")
    return [leaks.Leak(str(Path(f.path).relative_to(out)), f.kind, f.origin, f.fragment) for f in found]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help="destination (default: student-bundle/)")
    parser.add_argument("--binder-repo", default=DEFAULT_BINDER_REPO,
                        help=f"OWNER/NAME of the bundle's own repository (default {DEFAULT_BINDER_REPO})")
    parser.add_argument("--branch", default="main", help="branch for the Binder badge (default main)")
    parser.add_argument("--root", type=Path, default=ROOT,
                        help="the instructors' repository (default: this one)")
    args = parser.parse_args(argv)
    try:
        found = write_bundle(args.out, root=args.root, binder_repo=args.binder_repo, branch=args.branch)
    except BundleError as exc:
        print(f"student bundle failed: {exc}", file=sys.stderr)
        return 2
    for leak in found:
        print(f"LEAK: {leak}")
    if found:
        print(f"{len(found)} leak(s) in {args.out}: do NOT publish it; fix the master or the build.",
              file=sys.stderr)
        return 1
    n = sum(1 for p in Path(args.out).rglob("*") if p.is_file())
    print(f"leak scan: clean ({n} files). Publish {args.out} as its own repository ({args.binder_repo}).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
