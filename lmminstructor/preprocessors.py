"""nbconvert preprocessors for the lesson: header filling (run by nbgrader) and the self-study edition.

Two run inside nbgrader itself, registered in ``nbgrader_config.py`` by :func:`lesson_preprocessors`, so
that ``nbgrader generate_assignment <assignment>`` (the instructor's command) and ``make build`` write the
same ``release/`` byte for byte:

* :class:`CleanMetadata`: the notebook metadata normalised, editor state dropped from cells;
* :class:`FillHeader`: the points table and the estimated time written in place of their markers.

The others turn nbgrader's student version into the self-study edition (:func:`self_study`):
:class:`StripStubs`, :class:`TestsToChecks`, :class:`ReflectionBoxes`, :class:`NumberCells`.
"""

from __future__ import annotations

import copy

import nbformat
from nbconvert.preprocessors import Preprocessor
from nbformat import NotebookNode
from traitlets import Bool, Unicode

from .conventions import (
    POINTS_MARKER,
    STUB_LINES,
    TIME_MARKER,
    ConventionError,
    grade_id,
    is_answer_cell,
    is_solution,
    is_test_cell,
    points_table,
)
from .timing import estimate_minutes, time_line

__all__ = ["NOTEBOOK_METADATA", "WIDGET_VIEW", "REFLECTION_PROMPT", "clean_notebook", "fill_header",
           "CleanMetadata", "FillHeader", "StripStubs", "TestsToChecks", "ReflectionBoxes", "NumberCells",
           "lesson_preprocessors", "self_study"]

#: The notebook metadata of every edition (and of the masters, see tests/test_hygiene.py).
NOTEBOOK_METADATA = {
    "kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
    "language_info": {"name": "python"},
}
LESSON_FIGURE = '<img class="lmm-plot"'
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
REFLECTION_PROMPT = ("*Write your answer in the box below. It is saved as you type; once you have "
                     "written something, you can compare it with a model answer.*")


def clean_notebook(nb: NotebookNode, keep_nbgrader: bool = True, keep_outputs: bool = False) -> NotebookNode:
    """Strip stray metadata (execution counts, editor and widget state) and fix the notebook metadata.

    With ``keep_outputs``, executed cells keep their outputs and execution counts (nbval treats a cell
    with outputs and no count as an unrun reference cell), minus stored widget views that have a static
    fallback (a stored view shows "model not found" once the kernel is gone).
    """
    nb.metadata = copy.deepcopy(NOTEBOOK_METADATA)
    for cell in nb.cells:
        meta = {}
        if keep_nbgrader and "nbgrader" in cell.metadata:
            meta["nbgrader"] = cell.metadata["nbgrader"]
        cell.metadata = meta
        if cell.cell_type != "code":
            continue
        if not keep_outputs:
            cell.execution_count = None
            cell.outputs = []
            continue
        for out in cell.outputs:
            data = out.get("data", {})
            if WIDGET_VIEW in data and len(data) > 1:
                del data[WIDGET_VIEW]
            # a lesson figure is stored once: its <img alt> HTML (which carries the same PNG and the
            # text alternative) is kept, the bare image/png copy is dropped from the saved notebook
            if "image/png" in data and LESSON_FIGURE in str(data.get("text/html", "")):
                del data["image/png"]
    return nb


def fill_header(nb: NotebookNode) -> NotebookNode:
    """Replace the points and time markers of ``nb`` (a master or an nbgrader edition) in place.

    A marker that is absent is simply not filled.
    """
    table = points_table(nb)
    minutes = time_line(estimate_minutes(nb))
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cell.source = cell.source.replace(POINTS_MARKER, table).replace(TIME_MARKER, minutes)
    return nb


class _Preprocessor(Preprocessor):
    enabled = Bool(True).tag(config=True)


class CleanMetadata(_Preprocessor):
    """:func:`clean_notebook` as a preprocessor."""

    keep_nbgrader = Bool(True).tag(config=True)
    keep_outputs = Bool(False).tag(config=True)

    def preprocess(self, nb: NotebookNode, resources: dict) -> tuple[NotebookNode, dict]:
        return clean_notebook(nb, self.keep_nbgrader, self.keep_outputs), resources


class FillHeader(_Preprocessor):
    """:func:`fill_header` as a preprocessor (run first, while the master's metadata is whole)."""

    def preprocess(self, nb: NotebookNode, resources: dict) -> tuple[NotebookNode, dict]:
        return fill_header(nb), resources


def lesson_preprocessors(converter: type) -> list[type]:
    """nbgrader's default preprocessors of ``converter`` with :class:`CleanMetadata` and :class:`FillHeader`
    first (for ``c.GenerateAssignment.preprocessors`` and ``c.GenerateSolution.preprocessors``)."""
    return [CleanMetadata, FillHeader, *converter.class_traits()["preprocessors"].default()]


class StripStubs(_Preprocessor):
    """Drop nbgrader's ``# YOUR CODE HERE`` / ``raise NotImplementedError()`` from answer cells."""

    def preprocess(self, nb: NotebookNode, resources: dict) -> tuple[NotebookNode, dict]:
        for cell in nb.cells:
            if is_answer_cell(cell):
                lines = [ln for ln in cell.source.splitlines() if ln.strip() not in STUB_LINES]
                cell.source = "\n".join(lines).rstrip()
        return nb, resources


class TestsToChecks(_Preprocessor):
    """Replace every test cell ``test_<qid>`` by the instant feedback call ``check("<qid>", <qid>)``."""

    def preprocess(self, nb: NotebookNode, resources: dict) -> tuple[NotebookNode, dict]:
        answers = {grade_id(c) for c in nb.cells if is_answer_cell(c)}
        for cell in nb.cells:
            if is_test_cell(cell):
                gid = grade_id(cell)
                qid = gid[len("test_"):]
                if not gid.startswith("test_") or qid not in answers:
                    raise ConventionError(f"test cell {gid!r} has no answer cell {qid!r}")
                cell.source = f'check("{qid}", {qid})'
        return nb, resources


class ReflectionBoxes(_Preprocessor):
    """Replace every written-answer cell by a prompt and a ``reflect("<grade_id>")`` text box."""

    prompt = Unicode(REFLECTION_PROMPT).tag(config=True)

    def preprocess(self, nb: NotebookNode, resources: dict) -> tuple[NotebookNode, dict]:
        cells = []
        for cell in nb.cells:
            if cell.cell_type == "markdown" and is_solution(cell):
                cells.append(nbformat.v4.new_markdown_cell(self.prompt))
                cell = nbformat.v4.new_code_cell(f'reflect("{grade_id(cell)}")')
            cells.append(cell)
        nb.cells = cells
        return nb, resources


class NumberCells(_Preprocessor):
    """Stable, unique cell ids ``<prefix>-000``, ``<prefix>-001``, ..."""

    prefix = Unicode("cell").tag(config=True)

    def preprocess(self, nb: NotebookNode, resources: dict) -> tuple[NotebookNode, dict]:
        for i, cell in enumerate(nb.cells):
            cell["id"] = f"{self.prefix[:20]}-{i:03d}"
        return nb, resources


def self_study(release_nb: NotebookNode, name: str) -> NotebookNode:
    """The self-study edition of nbgrader's student version ``release_nb`` (left unchanged).

    Answer cells lose their stubs, test cells become ``check(...)``, reflections become text boxes, cell
    ids are renumbered from ``name``, and every nbgrader trace is removed.
    """
    nb = copy.deepcopy(release_nb)
    resources: dict = {}
    for pp in (StripStubs(), TestsToChecks(), ReflectionBoxes(), NumberCells(prefix=name),
               CleanMetadata(keep_nbgrader=False)):
        nb, resources = pp(nb, resources)
    return nb
