"""Every committed notebook is free of stray metadata; masters carry no outputs."""

import subprocess
from pathlib import Path

import nbformat
import pytest

from lmminstructor.build import NOTEBOOK_METADATA

ROOT = Path(__file__).resolve().parents[1]


def _tracked_notebooks():
    try:
        out = subprocess.run(["git", "ls-files", "*.ipynb"], cwd=ROOT, capture_output=True,
                             text=True, check=True).stdout.split()
    except (OSError, subprocess.CalledProcessError):
        out = [str(p.relative_to(ROOT)) for p in ROOT.rglob("*.ipynb") if ".venv" not in p.parts]
    return sorted(out)


NOTEBOOKS = _tracked_notebooks()


@pytest.mark.parametrize("rel", NOTEBOOKS)
def test_notebook_metadata_is_clean(rel):
    nb = nbformat.read(ROOT / rel, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata == NOTEBOOK_METADATA, f"{rel}: notebook metadata {dict(nb.metadata)}"
    # nbgrader's student version locks cells with the standard `deletable`/`editable` keys; nothing else
    allowed = {"nbgrader", "deletable", "editable"} if rel.startswith("release/") else {"nbgrader"}
    for cell in nb.cells:
        extra = set(cell.metadata) - allowed
        assert not extra, f"{rel}: cell {cell.get('id')} carries metadata {sorted(extra)}"
        if cell.cell_type == "code":
            if not rel.startswith("solutions/"):  # executed answer keys keep their counts (nbval)
                assert cell.execution_count is None, f"{rel}: execution count left in {cell.get('id')}"
            for out in cell.outputs:
                assert "application/vnd.jupyter.widget-state+json" not in out.get("data", {})


@pytest.mark.parametrize("rel", [r for r in NOTEBOOKS if r.startswith(("source/", "release/",
                                                                       "notebooks/", "tests/"))])
def test_masters_and_student_editions_have_no_outputs(rel):
    nb = nbformat.read(ROOT / rel, as_version=4)
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), rel


@pytest.mark.parametrize("rel", NOTEBOOKS)
def test_notebooks_stay_small(rel):
    size = (ROOT / rel).stat().st_size
    limit = 50_000 if rel.startswith(("source/", "release/", "notebooks/")) else 2_000_000
    assert size < limit, f"{rel} is {size} bytes"


def test_no_grading_artefacts_tracked():
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True).stdout
    for bad in ("gradebook.db", "submitted/", "autograded/", "feedback/", ".venv/"):
        assert bad not in tracked, f"{bad} is tracked"
