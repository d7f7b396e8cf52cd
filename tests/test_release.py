"""The committed editions are what users get by the README's paths.

* The README's instructor command (``nbgrader generate_assignment <assignment> --force``, run with this
  repository's ``nbgrader_config.py`` and the venv's tools first on PATH, as "with .venv active" says)
  reproduces the committed ``release/`` byte for byte, points table and cell locks included.
* Released test cells are locked: a student can neither delete nor edit them in JupyterLab.
* Every plotting cell of an answer key (``solutions/``) shows its figure (the rule for "plotting cell" is
  in :mod:`lmminstructor.figures`).
"""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from lmminstructor.conventions import find_masters, is_locked, is_test_cell, nbgrader_meta
from lmminstructor.figures import is_plotting_cell, missing_figures

ROOT = Path(__file__).resolve().parents[1]
MASTERS = list(find_masters(ROOT / "source"))
pytestmark = pytest.mark.skipif(not MASTERS, reason="no masters in source/")


def readme_generate_commands() -> list[str]:
    """The ``nbgrader generate_assignment`` lines the README tells an instructor to run."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    found = re.finditer(r"^\s*nbgrader generate_assignment [^\n#]*", readme, re.M)
    return [m.group(0).strip() for m in found]


def test_readme_has_the_release_command():
    assert readme_generate_commands() == ["nbgrader generate_assignment section1 --force"]


def test_readme_commands_reproduce_the_committed_release(tmp_path):
    course = tmp_path / "course"
    for name in ("source", "release"):
        shutil.copytree(ROOT / name, course / name, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    shutil.copy2(ROOT / "nbgrader_config.py", course / "nbgrader_config.py")
    # "with .venv active": the venv's tools first on PATH; the rest of the caller's environment as it is
    env = dict(os.environ, PATH=str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", ""))
    [command] = readme_generate_commands()
    shown = command.split()[2]
    for assignment in sorted({a for a, _ in MASTERS}):
        args = [assignment if word == shown else word for word in command.split()]
        proc = subprocess.run(args, cwd=course, env=env, capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, f"{' '.join(args)} failed:\n{proc.stderr[-3000:]}"
    committed = {p.relative_to(ROOT): p.read_bytes() for p in (ROOT / "release").rglob("*.ipynb")}
    generated = {p.relative_to(course): p.read_bytes() for p in (course / "release").rglob("*.ipynb")}
    assert sorted(generated) == sorted(committed)
    differ = [str(rel) for rel in sorted(committed) if generated[rel] != committed[rel]]
    assert differ == [], ("nbgrader generate_assignment does not reproduce the committed release "
                          f"(run `make build` and commit): {differ}")


@pytest.mark.parametrize("path", sorted((ROOT / "release").glob("*/*.ipynb")), ids=lambda p: p.name)
def test_released_test_cells_are_locked(path):
    nb = nbformat.read(path, as_version=4)
    tests = [c for c in nb.cells if is_test_cell(c)]
    assert tests, f"{path.name}: no test cell"
    unlocked = [nbgrader_meta(c).get("grade_id") for c in tests
                if c.metadata.get("deletable") is not False or c.metadata.get("editable") is not False]
    assert unlocked == [], f"{path.name}: test cells a student can delete or edit: {unlocked}"
    graded = [c for c in nb.cells if "nbgrader" in c.metadata]
    deletable = [nbgrader_meta(c).get("grade_id") for c in graded if c.metadata.get("deletable") is not False]
    assert deletable == [], f"{path.name}: nbgrader cells a student can delete: {deletable}"
    assert all(is_locked(c) for c in tests)


@pytest.mark.parametrize("path", sorted((ROOT / "solutions").glob("*/*.ipynb")), ids=lambda p: p.name)
def test_answer_keys_show_every_figure(path):
    nb = nbformat.read(path, as_version=4)
    assert missing_figures(nb) == [], (f"{path.name}: plotting cells without an image output (run "
                                       "`make build` without MPLBACKEND in the environment)")


def test_answer_keys_have_plotting_cells():
    """The figure check above is not vacuous: the answer keys do draw figures."""
    count = sum(is_plotting_cell(c.source) for p in (ROOT / "solutions").glob("*/*.ipynb")
                for c in nbformat.read(p, as_version=4).cells if c.cell_type == "code")
    assert count >= 10
