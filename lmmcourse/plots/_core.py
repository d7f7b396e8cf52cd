"""Palette, style, shared helpers and text alternatives for the lesson's static plots.

Text alternatives
-----------------
Every plot function stores a sentence describing its figure, with the key numbers, on the Axes
it drew (:func:`set_alt`; read it back with :func:`alt_text`). When a figure is displayed in
an IPython kernel (the inline backend at the end of a cell, or ``plt.show()``),
:func:`enable_alt_text` has registered an extra ``text/html`` formatter for Matplotlib figures:
the display then carries, besides the usual ``image/png``, an ``<img class="lmm-plot"
alt="...">`` of the same picture (:func:`figure_html`). JupyterLab prefers ``text/html`` over
``image/png`` (its HTML sanitiser keeps ``alt`` and ``data:`` image sources), and so do
nbconvert's HTML export and nbviewer, so the description travels with the figure into executed
notebooks and exported
pages. JupyterLab 4's image renderer and nbconvert's PNG template ignore any ``alt`` in output
metadata, which is why the HTML route is used. Each figure is still displayed once, by the
inline backend, and may be changed after the plot function returns; figures without any alt
text are displayed as before (the formatter declines them).
"""

from __future__ import annotations

import base64
import html
import io
from typing import TypeVar

__all__ = [
    "LINESTYLES",
    "MARKERS",
    "OKABE_ITO",
    "alt_text",
    "enable_alt_text",
    "figure_html",
    "img_tag",
    "palette",
    "set_alt",
    "use_style",
]

#: The eight Okabe-Ito colours by name (Okabe & Ito, 2008, "Color Universal Design").
OKABE_ITO = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky blue": "#56B4E9",
    "bluish green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish purple": "#CC79A7",
}

#: Marker shapes paired with :func:`palette` position by position, so that groups differ by
#: shape as well as colour.
MARKERS = ("o", "s", "^", "D", "v", "P", "X")

#: Line styles paired with :func:`palette` position by position.
LINESTYLES = ("-", "--", "-.", ":", (0, (5, 1)), (0, (3, 1, 1, 1, 1, 1)), (0, (1, 3)))

_ORDER = ("blue", "orange", "bluish green", "vermillion", "reddish purple", "sky blue", "yellow")


def palette(n: int | None = None) -> list[str]:
    """The lesson's colour-blind-safe palette (Okabe-Ito, without black).

    Ordered for use on a white background: the low-contrast yellow comes last.

    Parameters
    ----------
    n : int, optional
        Number of colours wanted (1-7); all seven if None.

    Returns
    -------
    list of str
        Hex colours: blue, orange, bluish green, vermillion, reddish purple, sky blue, yellow.

    References
    ----------
    Okabe, M. & Ito, K. (2008). *Color Universal Design (CUD): how to make figures and
    presentations that are friendly to colorblind people*. https://jfly.uni-koeln.de/color/
    """
    colours = [OKABE_ITO[k] for k in _ORDER]
    if n is None:
        return colours
    if not 1 <= int(n) <= len(colours):
        raise ValueError(
            f"palette(n) needs 1 <= n <= {len(colours)}, got {n}; with more groups than "
            "colours, distinguish the rest by marker shape (MARKERS) or facet the plot."
        )
    return colours[: int(n)]


def use_style() -> dict:
    """Set readable Matplotlib defaults for the lesson (palette, font sizes, light grid).

    Changes ``matplotlib.rcParams`` for the running session and returns the settings applied,
    so a notebook can call it once at the top.

    Returns
    -------
    dict
        The rcParams that were set.
    """
    import matplotlib as mpl
    from cycler import cycler

    settings = {
        "axes.prop_cycle": cycler(color=palette()),
        "figure.figsize": (6.4, 4.0),
        "figure.dpi": 100,
        "font.size": 11,
        "axes.titlesize": 12,
        "axes.labelsize": 11,
        "legend.fontsize": 10,
        "legend.frameon": False,
        "axes.grid": True,
        "grid.alpha": 0.3,
        "grid.linewidth": 0.6,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "lines.linewidth": 1.8,
        "lines.markersize": 6,
        "savefig.bbox": "tight",
    }
    mpl.rcParams.update(settings)
    enable_alt_text()
    return settings


def _new_axes(ax, **subplots_kw):
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, ax = plt.subplots(**subplots_kw)
    return ax


def _unit(label: str, unit: str | None) -> str:
    return f"{label} ({unit})" if unit else label



# --------------------------------------------------------------------------------------------
# Text alternatives
# --------------------------------------------------------------------------------------------
_ALT_ATTR = "_lmm_alt"
T = TypeVar("T")


def set_alt(target: T, text: str) -> T:
    """Attach a text alternative to a Matplotlib ``Axes`` or ``Figure`` and return ``target``.

    Use it for figures drawn without the lesson's plot functions, e.g.
    ``plots.set_alt(fig, "Scatter of clinic mean SBP against mean age: ...")``. A figure's own
    text wins over its axes' texts.
    """
    setattr(target, _ALT_ATTR, " ".join(str(text).split()))
    enable_alt_text()
    return target


def alt_text(target) -> str:
    """The text alternative of an ``Axes`` or ``Figure`` ("" if it has none).

    A figure without its own text joins the texts of its axes, in the order they were added.
    """
    own = getattr(target, _ALT_ATTR, "")
    if own or not hasattr(target, "axes") or not isinstance(target.axes, list):
        return own
    return " ".join(t for t in (getattr(a, _ALT_ATTR, "") for a in target.axes) if t)


def img_tag(png: bytes, alt: str, css_class: str = "lmm-static-figure") -> str:
    """An ``<img>`` element with the PNG inlined as a data URL and its ``alt`` text (escaped)."""
    b64 = base64.b64encode(bytes(png)).decode("ascii")
    return (f'<img class="{css_class}" alt="{html.escape(alt, quote=True)}" '
            f'src="data:image/png;base64,{b64}" style="max-width:100%;height:auto;'
            'background:#fff">')


def figure_html(fig) -> str | None:
    """``<img alt=...>`` of a figure that has alt text; None (no HTML output) otherwise.

    The PNG is made like the inline backend's (figure dpi, tight bounding box, white
    background).
    """
    alt = alt_text(fig)
    if not alt:
        return None
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=fig.dpi, bbox_inches="tight", facecolor="white")
    return img_tag(buf.getvalue(), alt, css_class="lmm-plot")


def enable_alt_text() -> bool:
    """Register :func:`figure_html` as IPython's ``text/html`` formatter for figures.

    Called by every plot function and :func:`set_alt`; harmless to call again. Outside IPython
    it does nothing.

    Returns
    -------
    bool
        True when a running IPython shell now formats figures with their alt text.
    """
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython comes with ipywidgets
        return False
    ip = get_ipython()
    if ip is None or not hasattr(ip, "display_formatter"):
        return False
    from matplotlib.figure import Figure

    ip.display_formatter.formatters["text/html"].for_type(Figure, figure_html)
    return True


def _finish(ax, alt: str):
    """Store ``alt`` on ``ax`` and make sure figures are displayed with it."""
    set_alt(ax, alt)
    return ax


def _fmt(x: float, digits: int = 2) -> str:
    """A number for alt text, with a fixed number of decimals."""
    return f"{float(x):.{digits}f}"
