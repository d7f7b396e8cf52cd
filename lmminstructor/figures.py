"""Which code cells draw a figure, and whether an executed notebook shows each of them.

A code cell is a **plotting cell** when its code (parsed, so comments and strings do not count) calls

* a function of :mod:`lmmcourse.plots` through the name ``plots`` (``plots.qq(...)``), except the two that
  draw nothing: ``plots.palette`` and ``plots.use_style``;
* anything on ``plt`` (``matplotlib.pyplot``) except calls that only change settings or close figures
  (:data:`PLT_NO_FIGURE`);
* anything on ``sns`` (seaborn) except its theme and palette settings (:data:`SNS_NO_FIGURE`);
* a ``.plot(...)`` or ``.hist(...)`` method (pandas and matplotlib axes).

Widgets are not plotting cells: they show their own static image (checked by the widget tests). An
executed plotting cell must have a ``display_data`` or ``execute_result`` output with an ``image/png``
or ``image/svg+xml`` part; ipykernel's default (inline) matplotlib backend gives one, a forced
non-interactive backend such as ``MPLBACKEND=Agg`` does not.
"""

from __future__ import annotations

import ast

from nbformat import NotebookNode

__all__ = ["PLOTS_NO_FIGURE", "PLT_NO_FIGURE", "SNS_NO_FIGURE", "IMAGE_TYPES", "is_plotting_cell",
           "has_image", "missing_figures"]

PLOTS_NO_FIGURE = frozenset({"palette", "use_style"})
PLT_NO_FIGURE = frozenset({"close", "rc", "rcdefaults", "ioff", "ion", "switch_backend", "style"})
SNS_NO_FIGURE = frozenset({"set", "set_theme", "set_style", "set_context", "set_palette", "color_palette",
                           "reset_defaults", "reset_orig"})
IMAGE_TYPES = ("image/png", "image/svg+xml")


def _call_chain(func: ast.expr) -> list[str]:
    """``plt.style.use`` -> ["plt", "style", "use"]; [] when the call is not on a plain name."""
    names = []
    while isinstance(func, ast.Attribute):
        names.append(func.attr)
        func = func.value
    if isinstance(func, ast.Name):
        return [func.id, *reversed(names)]
    return []


def is_plotting_cell(source: str) -> bool:
    """True when the code ``source`` draws a figure (the rule is in the module docstring).

    IPython magics (lines starting with ``%`` or ``!``) are ignored; code that does not parse is not a
    plotting cell.
    """
    code = "\n".join(ln for ln in source.splitlines() if not ln.lstrip().startswith(("%", "!")))
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return False
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        if isinstance(node.func, ast.Attribute) and node.func.attr in ("plot", "hist"):
            return True
        chain = _call_chain(node.func)
        if len(chain) < 2:
            continue
        owner, first = chain[0], chain[1]
        if (owner == "plots" and first not in PLOTS_NO_FIGURE
                or owner == "plt" and first not in PLT_NO_FIGURE
                or owner == "sns" and first not in SNS_NO_FIGURE):
            return True
    return False


def has_image(cell: NotebookNode) -> bool:
    """True when an executed code cell shows an image: an image part, or an HTML ``<img>`` whose source is
    an embedded PNG (how :mod:`lmmcourse.plots` shows a figure together with its alt text)."""
    for out in cell.get("outputs", []):
        if out.get("output_type") not in ("display_data", "execute_result"):
            continue
        data = out.get("data", {})
        if any(kind in data for kind in IMAGE_TYPES):
            return True
        if "<img" in str(data.get("text/html", "")) and "data:image/png;base64," in str(data["text/html"]):
            return True
    return False


def missing_figures(nb: NotebookNode) -> list[str]:
    """Ids of the plotting cells of an executed notebook that show no image (empty when all do)."""
    return [cell.get("id", f"cell {i}") for i, cell in enumerate(nb.cells)
            if cell.cell_type == "code" and is_plotting_cell(cell.source) and not has_image(cell)]
