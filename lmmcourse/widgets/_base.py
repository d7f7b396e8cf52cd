"""Shared machinery of the lesson widgets.

* :class:`LessonWidget`: a ``VBox`` whose rich representation also carries a static fallback
  (``text/html`` with ``<img alt=...>``, ``image/png`` and ``text/plain`` alt text), so
  nbconvert, nbviewer and GitHub show the figure and its description without a kernel.
* :func:`skip_when_grading`: the decorator that makes a widget function return a cheap
  :class:`SkippedWidget` while nbgrader executes the notebook.
* :func:`png_rgb`, :class:`AggFigure`: Matplotlib figure on an Agg canvas rendered to PNG bytes.
* :class:`AltImage`: an ``ipywidgets.Image`` whose text alternative reaches the ``<img>``
  element (see its docstring), and :func:`a11y_helper`, the small HTML part that names slider
  handles and draws a visible focus ring.
"""

from __future__ import annotations

import base64
import functools
import html
import os
import struct
import zlib
from collections.abc import Callable
from typing import Any, TypeVar

import ipywidgets as W
import numpy as np
import traitlets
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from ..plots import img_tag

__all__ = [
    "GRADING_ENV_VAR",
    "AggFigure",
    "AltImage",
    "LessonWidget",
    "SkippedWidget",
    "a11y_helper",
    "caption_widget",
    "image_widget",
    "img_tag",
    "png_rgb",
    "skip_when_grading",
]

GRADING_ENV_VAR = "NBGRADER_EXECUTION"


def _grading() -> bool:
    return bool(os.environ.get(GRADING_ENV_VAR))


class SkippedWidget:
    """Cheap stand-in returned while nbgrader executes a notebook.

    nbgrader sets ``NBGRADER_EXECUTION`` when it autogrades or validates; interactive figures are
    then pointless (and only cost time), so the widget functions return this note instead.
    """

    def __init__(self, name: str):
        self.name = name
        self.text = f"Interactive widget '{name}' skipped during grading."

    def __repr__(self) -> str:
        return self.text

    def _repr_mimebundle_(self, **kwargs):
        return {"text/plain": self.text, "text/html": f"<p><em>{html.escape(self.text)}</em></p>"}


F = TypeVar("F", bound=Callable[..., Any])


def skip_when_grading(func: F) -> F:
    """Make a widget function return a :class:`SkippedWidget` under nbgrader.

    The environment variable :data:`GRADING_ENV_VAR` is read at call time, before any argument
    is checked or any figure drawn.
    """

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        if _grading():
            return SkippedWidget(func.__name__)
        return func(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


class LessonWidget(W.VBox):
    """A VBox that also carries a static fallback of itself in its rich representation.

    ``_repr_mimebundle_`` returns the usual widget view plus ``text/html`` (the image with its
    ``alt`` text), ``image/png`` of ``self.image`` (subclasses may override
    :meth:`_static_bundle`) and ``text/plain`` alt text (:meth:`alt_text`). Front ends with a
    live kernel show the widget; static viewers show the HTML image, whose ``alt`` a screen
    reader reads.
    """

    image: W.Image | None = None

    def __init__(self, children=(), **kwargs):
        super().__init__(list(children), **kwargs)
        self.add_class("lmm-widget")

    def alt_text(self) -> str:
        """A sentence describing what the widget currently shows."""
        return type(self).__name__

    def _static_bundle(self) -> dict:
        if self.image is None or not self.image.value:
            return {}
        png = bytes(self.image.value)
        return {"image/png": base64.b64encode(png).decode("ascii"),
                "text/html": img_tag(png, self.alt_text())}

    def _repr_mimebundle_(self, **kwargs):
        data = super()._repr_mimebundle_(**kwargs) or {}
        data.update(self._static_bundle())
        data["text/plain"] = self.alt_text()
        return data


def png_rgb(rgba) -> bytes:
    """Encode an RGBA pixel buffer (h, w, 4) as an RGB PNG quickly.

    The alpha channel is dropped (the figures are opaque), rows are stored unfiltered and the
    data are deflated at zlib level 1: for flat line-art figures this is faster than PIL's
    adaptive filtering and the file is hardly larger. Any PNG reader decodes it.
    """
    a = np.asarray(rgba)
    h, w = a.shape[:2]
    raw = np.empty((h, 1 + 3 * w), dtype=np.uint8)
    raw[:, 0] = 0  # filter type "None" for every row
    raw[:, 1:] = a[..., :3].reshape(h, 3 * w)

    def chunk(tag: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(tag + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)  # 8-bit RGB, no interlace
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(raw.tobytes(), 1)) + chunk(b"IEND", b""))


class AggFigure:
    """A Matplotlib figure on an Agg canvas (no pyplot state) that renders to PNG bytes."""

    def __init__(self, figsize, dpi: int = 90, fig: Figure | None = None):
        self.fig = fig if fig is not None else Figure(figsize=figsize, dpi=dpi)
        self.canvas = FigureCanvasAgg(self.fig)

    def png_from_buffer(self) -> bytes:
        """Encode the canvas' current pixel buffer (no redraw) as PNG."""
        return png_rgb(self.canvas.buffer_rgba())

    def render(self) -> bytes:
        """Draw the figure and return it as PNG bytes."""
        self.canvas.draw()
        return self.png_from_buffer()


class AltImage(W.Image):
    """``ipywidgets.Image`` with a text alternative on its ``<img>`` element.

    ipywidgets' Image has no ``alt``. Its view does set the element's ``title`` from the
    ``tooltip`` trait, but only after reading the model's ``description``, which the Image model
    lacks (the front end would fail on ``undefined.length``). This subclass adds an empty,
    synchronised ``description`` so that ``alt`` (stored in ``tooltip``) becomes the ``title``
    of the ``<img>``: its accessible name (HTML-AAM name computation; axe-core's ``image-alt``
    rule accepts a non-empty title), also shown on hover.
    """

    description = traitlets.Unicode("").tag(sync=True)

    @property
    def alt(self) -> str:
        """The text alternative (kept in ``tooltip``)."""
        return self.tooltip or ""

    @alt.setter
    def alt(self, text: str) -> None:
        self.tooltip = str(text)


def image_widget() -> AltImage:
    """The figure element of every lesson widget (CSS class ``lmm-figure``)."""
    img = AltImage(format="png", layout=W.Layout(max_width="100%", height="auto"))
    img.add_class("lmm-figure")
    return img


def caption_widget(extra_class: str | None = None) -> W.HTML:
    """The prose caption under a figure (CSS class ``lmm-caption``)."""
    cap = W.HTML(description="", description_allow_html=False)
    cap.add_class("lmm-caption")
    if extra_class:
        cap.add_class(extra_class)
    return cap


#: Visible keyboard focus for every control of the lesson widgets (WCAG 2.4.7), dark enough on
#: white for 3:1 non-text contrast (Okabe-Ito blue #0072B2 on white: 5.0:1).
FOCUS_CSS = (
    ".lmm-widget :focus-visible, .lmm-widget .noUi-handle:focus,"
    " .lmm-widget input:focus, .lmm-widget textarea:focus {"
    " outline: 3px solid #0072B2 !important; outline-offset: 2px; }"
)

# Runs once when the helper's (invisible, decorative) image fails to load an empty data URL:
# gives each slider handle of the enclosing lesson widget the slider's description as its
# aria-label (ipywidgets' noUiSlider handles have role="slider" but no accessible name), and
# keeps doing so when the front end re-renders the sliders.
_NAME_SLIDERS_JS = (
    "var r=this.closest('.lmm-widget');if(!r)return;"
    "var f=function(){r.querySelectorAll('.widget-slider').forEach(function(s){"
    "var l=s.querySelector('.widget-label'),h=s.querySelector('.noUi-handle');"
    "if(l&&h&&l.textContent&&h.getAttribute('aria-label')!==l.textContent)"
    "{h.setAttribute('aria-label',l.textContent);}});};"
    "f();new MutationObserver(f).observe(r,{childList:true,subtree:true});"
)


def a11y_helper() -> W.HTML:
    """An invisible HTML part carrying the focus style and the slider-naming script.

    Returns
    -------
    ipywidgets.HTML
        CSS class ``lmm-a11y``; put it inside a :class:`LessonWidget` (which carries the
        ``lmm-widget`` class the CSS and the script look for).
    """
    value = (
        f"<style>{FOCUS_CSS}</style>"
        f'<img alt="" role="presentation" src="data:," style="display:none" '
        f'onerror="{html.escape(_NAME_SLIDERS_JS, quote=True)}">'
    )
    w = W.HTML(value=value, layout=W.Layout(height="0px", margin="0", overflow="hidden"))
    w.add_class("lmm-a11y")
    return w
