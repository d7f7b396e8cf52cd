"""Run time of each self-study notebook, top to bottom, in a fresh kernel (target <= 20 s each)."""

import shutil
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]


def _run(name):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        shutil.copy(ROOT / "notebooks" / name, path)
        nb = nbformat.read(path, as_version=4)
        start = time.perf_counter()
        NotebookClient(nb, timeout=600, kernel_name="python3",
                       resources={"metadata": {"path": tmp}}).execute()
        return time.perf_counter() - start


def _make(name):
    def bench():
        return {"name": f"notebook {Path(name).stem}", "value": _run(name), "unit": "s",
                "target": "<= 20"}
    return bench


for _nb in sorted(p.name for p in (ROOT / "notebooks").glob("*.ipynb")):
    globals()[f"bench_{Path(_nb).stem}"] = _make(_nb)
