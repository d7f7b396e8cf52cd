"""Caterpillar plot with a Dropdown to switch between fitted models."""

from __future__ import annotations

import html

import ipywidgets as W

from .. import plots
from ._base import AggFigure, LessonWidget, a11y_helper, caption_widget, image_widget, skip_when_grading

__all__ = ["CaterpillarSwitch", "caterpillar_switch"]


class CaterpillarSwitch(LessonWidget):
    """Widget behind :func:`caterpillar_switch` (see :mod:`lmmcourse.widgets` for its API)."""

    def __init__(self, results: dict, units: str | None = None):
        if not results:
            raise ValueError("caterpillar_switch needs a non-empty dict {name: fitted result}")
        self.results = dict(results)
        self.units = units
        self._tables = {k: plots._blup_frame(v) for k, v in self.results.items()}
        self.dropdown = W.Dropdown(options=list(self.results), value=next(iter(self.results)),
                                   description="Model:", description_allow_html=False)
        self.dropdown.add_class("lmm-caterpillar-model")
        self.image = image_widget()
        self.caption = caption_widget()
        self.axes = None
        self.dropdown.observe(lambda _c: self.update(), names="value")
        self.update()
        super().__init__([self.dropdown, self.image, self.caption, a11y_helper()])
        self.add_class("lmm-caterpillar-switch")

    def update(self):
        name = self.dropdown.value
        table = self._tables[name]
        effects = list(dict.fromkeys(table["effect"]))
        n_groups = table["group"].nunique()
        fig = AggFigure(figsize=plots.caterpillar_figsize(len(effects), n_groups), dpi=90)
        axes = fig.fig.subplots(1, len(effects), squeeze=False)[0]
        plots.caterpillar(table, ax=axes, units=self.units)
        fig.fig.suptitle(f"Model {name}", fontsize=11)
        fig.fig.tight_layout()
        self.axes = axes
        alt = self.alt_text()
        self.image.alt = alt
        self.image.value = fig.render()
        self.caption.value = html.escape(alt)

    def alt_text(self) -> str:
        name = self.dropdown.value
        return f"Model {name}. " + plots.caterpillar_alt(self._tables[name], units=self.units)


@skip_when_grading
def caterpillar_switch(results: dict, units: str | None = None) -> CaterpillarSwitch:
    """Caterpillar plot (:func:`lmmcourse.plots.caterpillar`) with a Dropdown of models.

    Parameters
    ----------
    results : dict
        ``{name: fitted MixedLM result}`` (or ``{name: BLUP table}`` with columns
        ``group, effect, blup, sd``).
    units : str, optional
        Outcome units for the x-axis label.

    Returns
    -------
    CaterpillarSwitch or SkippedWidget
        A :class:`~lmmcourse.widgets.LessonWidget`; a :class:`~lmmcourse.widgets.SkippedWidget`
        under nbgrader.
    """
    return CaterpillarSwitch(results, units=units)
