"""The self-study notebooks as the browser tests see them: which exist, which widgets they call."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

__all__ = ["REPO", "ARTIFACTS", "NOTEBOOKS", "WIDGET_CLASSES", "code_cells", "notebook_with",
           "widgets_called"]

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "artifacts" / "browser"
NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))

#: widget function called in a notebook -> CSS class of its rendered root
WIDGET_CLASSES = {
    "variance_explorer": ".lmm-variance-explorer",
    "story": ".lmm-story",
    "glossary": ".lmm-glossary",
    "caterpillar_switch": ".lmm-caterpillar-switch",
}


def code_cells(path: Path) -> dict[int, str]:
    """``{cell index: source}`` of the notebook's code cells, comment lines left out."""
    nb = json.loads(Path(path).read_text(encoding="utf-8"))
    return {i: "\n".join(line for line in "".join(c["source"]).splitlines()
                         if not line.lstrip().startswith("#"))
            for i, c in enumerate(nb["cells"]) if c["cell_type"] == "code"}


def widgets_called(path: Path) -> set[str]:
    """Names of the lesson widgets called in the notebook's code cells (comments ignored)."""
    code = "\n".join(code_cells(path).values())
    return {name for name in WIDGET_CLASSES if re.search(rf"(?<![\w]){name}\(", code)}


def notebook_with(widget: str) -> Path:
    """The first notebook of ``notebooks/`` that calls ``widgets.<widget>()`` (fails if none does)."""
    for p in NOTEBOOKS:
        if widget in widgets_called(p):
            return p
    pytest.fail(f"no notebook in notebooks/ calls {widget}(): the lesson needs it (run `make build` "
                "if notebooks/ is out of date)")
