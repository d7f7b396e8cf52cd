"""Interactive widgets for the lesson (ipywidgets + Matplotlib rendered to PNG).

Each public function returns one displayable widget that teaches one idea:

=============================  ===============================================================
:func:`variance_explorer`      sliders for sigma2_u, sigma2_e and m: variance partition (ICC),
                               shrinkage factor against m, simulated raw means vs BLUPs
:func:`story`                  six scenes, Back/Next: pooled line, classrooms revealed, random
                               intercepts, random slopes, partial pooling, summary
:func:`glossary`               the course glossary with a search box that filters as you type
                               (terms, abbreviations such as ICC or BLUP, synonyms, text)
:func:`glossary_entry`         one glossary definition as HTML (for any notebook)
:func:`caterpillar_switch`     caterpillar plot with a Dropdown to switch between fitted models
=============================  ===============================================================

The numbers behind each figure come from pure functions (:func:`variance_partition`,
:func:`cluster_draws`, :func:`shrunken_cluster_means`, :func:`fit_story`,
:func:`search_glossary`, :func:`load_glossary`) that are unit-tested without a front end.

Modules
-------
``_base`` (shared machinery: :class:`LessonWidget`, the nbgrader skip decorator, PNG encoding,
the image with a text alternative, focus style), ``_explorer``, ``_story`` (scenes as a list of
title/draw/caption objects), ``_glossary`` (content in ``lmmcourse/glossary.json``, search,
widget) and ``_caterpillar``. Import from ``lmmcourse.widgets``; the sub-modules are private.

Rendering
---------
Figures are ``matplotlib.figure.Figure`` objects with an Agg canvas (no pyplot state, nothing
leaks as an extra inline figure, ``plt.show()`` is never called). They are encoded as PNG (zlib
level 1) into an :class:`~lmmcourse.widgets._base.AltImage`, whose ``alt`` (the same sentence
as the caption, with the key numbers) becomes the ``title`` of the ``<img>`` element and so its
accessible name. The variance explorer updates its artists in place and blits them onto a
cached background; the full figure is redrawn only when the y-range of the simulated-cluster
panel has to change.

Static fallback
---------------
Every widget is a :class:`LessonWidget` (an ``ipywidgets.VBox``) whose ``_repr_mimebundle_`` adds
to the live widget view a ``text/html`` ``<img alt=...>`` and an ``image/png`` of its current
state (the full glossary as ``text/html`` for the glossary) and an alt-text ``text/plain``.
JupyterLab renders the live widget; nbconvert, nbviewer and GitHub, which have no kernel, show
the stored image with its alt text. When the environment variable ``NBGRADER_EXECUTION`` is set
(nbgrader autograding/validation), every widget function returns a :class:`SkippedWidget` note
instead, without any figure work.

Controls (for tests and browser tests)
--------------------------------------
Attributes and the CSS classes set with ``add_class``:

==========================  ===========================================  ==========================
widget                      attribute                                    CSS class
==========================  ===========================================  ==========================
all                         (root VBox)                                  ``lmm-widget``
all                         ``w.image`` (AltImage; ``w.image.alt``)      ``lmm-figure``
all                         ``w.caption`` (HTML, alt-text-like caption)  ``lmm-caption``
all                         focus style, slider names (HTML)             ``lmm-a11y``
variance_explorer           ``w.sliders["sigma2_u"]``                    ``lmm-slider-sigma2u``
variance_explorer           ``w.sliders["sigma2_e"]``                    ``lmm-slider-sigma2e``
variance_explorer           ``w.sliders["m"]``                           ``lmm-slider-m``
variance_explorer           ``w.readout`` (HBox of the two Labels)       ``lmm-readout``
variance_explorer           ``w.readouts["icc"]`` ("ICC = 0.20")         ``lmm-readout-icc``
variance_explorer           ``w.readouts["shrinkage"]``                  ``lmm-readout-shrinkage``
variance_explorer           ``w.artists`` (dict of Matplotlib artists)   -
story                       ``w.back_button`` / ``w.next_button``        ``lmm-story-back`` /
                                                                         ``lmm-story-next``
story                       ``w.counter`` (Label, "Scene k of 6")        ``lmm-story-counter``
story                       ``w.caption`` (HTML)                         ``lmm-story-caption``
story                       ``w.scene`` (int), ``w.go(k)``, ``w.artists``  -
glossary                    ``w.search`` (Text, continuous_update)       ``lmm-glossary-search``
glossary                    ``w.results`` (HTML)                         ``lmm-glossary-results``
glossary                    ``w.count`` (Label), ``w.matches`` (list)    ``lmm-glossary-count``
caterpillar_switch          ``w.dropdown`` (Dropdown)                    ``lmm-caterpillar-model``
==========================  ===========================================  ==========================

Every control has a ``description`` (``description_allow_html`` off) and a tooltip; sliders work
from the keyboard (arrows, Page Up/Down, Home/End) and, through the ``lmm-a11y`` part, carry
their description as ``aria-label``; every focusable part shows a 3-px focus ring. Colours are
Okabe-Ito and every colour distinction is repeated by marker shape or line style.
"""

from __future__ import annotations

from ._base import GRADING_ENV_VAR, AltImage, LessonWidget, SkippedWidget, png_rgb
from ._caterpillar import CaterpillarSwitch, caterpillar_switch
from ._explorer import (
    SLIDER_RANGES,
    VarianceExplorer,
    _nice_ceil,  # noqa: F401  (tested directly)
    cluster_draws,
    shrunken_cluster_means,
    variance_explorer,
    variance_partition,
)
from ._glossary import (
    CATEGORIES,
    Glossary,
    glossary,
    glossary_entry,
    load_glossary,
    search_glossary,
)
from ._story import N_SCENES, SCENES, Scene, Story, StoryFits, fit_story, story

__all__ = [
    "CATEGORIES",
    "GRADING_ENV_VAR",
    "N_SCENES",
    "SCENES",
    "SLIDER_RANGES",
    "AltImage",
    "CaterpillarSwitch",
    "Glossary",
    "LessonWidget",
    "Scene",
    "SkippedWidget",
    "Story",
    "StoryFits",
    "VarianceExplorer",
    "caterpillar_switch",
    "cluster_draws",
    "fit_story",
    "glossary",
    "glossary_entry",
    "load_glossary",
    "png_rgb",
    "search_glossary",
    "shrunken_cluster_means",
    "story",
    "variance_explorer",
    "variance_partition",
]
