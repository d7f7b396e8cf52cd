"""Story: pooled line -> classrooms -> random intercepts -> random slopes -> partial pooling.

The models are fitted once (:func:`fit_story`); each scene is a :class:`Scene` with a title, a
drawing function and a caption function, listed in order in :data:`SCENES`. The current scene
number lives in :meth:`Story.go` only: the buttons, the counter, the figure and the caption all
follow from it.
"""

from __future__ import annotations

import html
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

import ipywidgets as W
import numpy as np
import pandas as pd

from .. import plots
from ._base import AggFigure, LessonWidget, a11y_helper, caption_widget, image_widget, skip_when_grading

__all__ = ["N_SCENES", "SCENES", "Scene", "Story", "StoryFits", "fit_story", "story"]


@dataclass
class StoryFits:
    """Everything the story draws, fitted once (see :func:`fit_story`)."""

    data: pd.DataFrame
    classrooms: list[str]
    pooled: tuple[float, float]  # (intercept, slope) of OLS score ~ hours
    no_pooling: pd.DataFrame  # per classroom: n, intercept, slope, hours_min, hours_max
    intercepts: pd.DataFrame  # random-intercept model: per classroom intercept, slope
    slopes: pd.DataFrame  # random-slope model: per classroom intercept, slope
    fixed_intercepts: tuple[float, float]  # (b0, b1) of the random-intercept model
    fixed_slopes: tuple[float, float]  # (b0, b1) of the random-slope model
    sd_intercept: float  # SD of random intercepts (random-intercept model)
    sd_slope: float  # SD of random slopes (random-slope model)
    sigma_e: float  # residual SD of the random-slope model
    converged: bool
    warnings: list[str] = field(default_factory=list)


def fit_story(data: pd.DataFrame) -> StoryFits:
    r"""Fit the story's models to the classrooms data, once.

    * complete pooling: OLS ``score ~ hours`` ignoring classrooms;
    * no pooling: a separate OLS line in every classroom;
    * random intercepts: MixedLM (REML) ``score ~ hours + (1 | classroom)``;
    * random slopes: MixedLM (REML) ``score ~ hours + (1 + hours | classroom)``.

    Classroom lines of the mixed models are fixed effects plus BLUPs:
    :math:`(\hat\beta_0 + \hat u_{0j}) + (\hat\beta_1 + \hat u_{1j})\,x`.

    Parameters
    ----------
    data : pandas.DataFrame
        Columns ``classroom``, ``hours``, ``score`` (:func:`lmmcourse.data.load_classrooms`).

    Returns
    -------
    StoryFits

    References
    ----------
    Gelman, A. & Hill, J. (2007). *Data Analysis Using Regression and Multilevel/Hierarchical
    Models*, ch. 12-13.
    """
    import statsmodels.formula.api as smf

    need = {"classroom", "hours", "score"}
    if not need <= set(data.columns):
        raise ValueError(f"the story needs columns {sorted(need)}, got {list(data.columns)}")
    df = data.copy()
    df["classroom"] = df["classroom"].astype(str)
    rooms = sorted(df["classroom"].unique())
    ols = smf.ols("score ~ hours", df).fit()
    pooled = (float(ols.params["Intercept"]), float(ols.params["hours"]))

    rows = []
    for g in rooms:
        d = df[df["classroom"] == g]
        slope, icpt = np.polyfit(d["hours"], d["score"], 1)
        rows.append({"classroom": g, "n": len(d), "intercept": icpt, "slope": slope,
                     "hours_min": d["hours"].min(), "hours_max": d["hours"].max(),
                     "mean_hours": d["hours"].mean(), "mean_score": d["score"].mean()})
    nop = pd.DataFrame(rows).set_index("classroom")

    caught = []
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        ri = smf.mixedlm("score ~ hours", df, groups=df["classroom"]).fit(reml=True)
        rs = smf.mixedlm("score ~ hours", df, groups=df["classroom"],
                         re_formula="~hours").fit(reml=True)
        caught = [str(w.message) for w in rec]

    def lines(res, slope_re):
        b0, b1 = float(res.fe_params["Intercept"]), float(res.fe_params["hours"])
        out = {}
        for g in rooms:
            re = res.random_effects[g]
            u0 = float(re.iloc[0])
            u1 = float(re["hours"]) if slope_re else 0.0
            out[g] = {"intercept": b0 + u0, "slope": b1 + u1}
        return pd.DataFrame(out).T.rename_axis("classroom"), (b0, b1)

    ri_lines, ri_fe = lines(ri, False)
    rs_lines, rs_fe = lines(rs, True)
    return StoryFits(
        data=df, classrooms=rooms, pooled=pooled, no_pooling=nop, intercepts=ri_lines,
        slopes=rs_lines, fixed_intercepts=ri_fe, fixed_slopes=rs_fe,
        sd_intercept=float(np.sqrt(ri.cov_re.iloc[0, 0])),
        sd_slope=float(np.sqrt(rs.cov_re.loc["hours", "hours"])),
        sigma_e=float(np.sqrt(rs.scale)), converged=bool(ri.converged and rs.converged),
        warnings=caught,
    )


# --------------------------------------------------------------------------------------------
# Drawing helpers (each takes the Story, for its fits and styles, and an Axes)
# --------------------------------------------------------------------------------------------
def _style(w: Story) -> dict:
    cols = plots.palette(len(w.fits.classrooms))
    return {g: (cols[i], plots.MARKERS[i], plots.LINESTYLES[i])
            for i, g in enumerate(w.fits.classrooms)}


def _scatter(w: Story, ax, coloured: bool, alpha: float = 0.85) -> None:
    f = w.fits
    if not coloured:
        ax.plot(f.data["hours"], f.data["score"], "o", color="0.35", markersize=5,
                alpha=alpha, label=f"pupils (n = {len(f.data)})")
        return
    for g, (c, mk, _ls) in _style(w).items():
        d = f.data[f.data["classroom"] == g]
        ax.plot(d["hours"], d["score"], mk, color=c, markersize=5.5, alpha=alpha,
                markeredgecolor="k", markeredgewidth=0.4,
                label=f"classroom {g} (n = {len(d)})")


def _classroom_lines(w: Story, ax, table: pd.DataFrame) -> dict:
    out = {}
    for g, (c, _mk, ls) in _style(w).items():
        lo, hi = w.fits.no_pooling.loc[g, ["hours_min", "hours_max"]]
        xs = np.array([lo, hi])
        b0, b1 = table.loc[g, "intercept"], table.loc[g, "slope"]
        out[g] = ax.plot(xs, b0 + b1 * xs, color=c, linestyle=ls, linewidth=2.2)[0]
    return out


def _pooled_line(w: Story, ax, **kw):
    f = w.fits
    xs = np.array([f.data["hours"].min(), f.data["hours"].max()])
    b0, b1 = f.pooled
    style = {"color": "k", "linewidth": 2.2, "linestyle": "-"} | kw
    return ax.plot(xs, b0 + b1 * xs, label=f"one pooled line (slope {b1:.2f})", **style)[0]


def _scatter_scene(coloured: bool, alpha: float, extra: Callable[[Story, object], dict]):
    """A scene drawn as the pupils' scatter plus ``extra`` lines, with axis labels."""

    def draw(w: Story, ax) -> dict:
        _scatter(w, ax, coloured=coloured, alpha=alpha)
        art = extra(w, ax)
        ax.set_xlabel("study time (hours per week)")
        ax.set_ylabel("test score (points)")
        ax.legend(loc="best", fontsize=8, frameon=False)
        return art

    return draw


def _draw_pooling(w: Story, ax) -> dict:
    f = w.fits
    rooms = f.classrooms
    y = np.arange(len(rooms))[::-1]
    nop = f.no_pooling.loc[rooms, "slope"].to_numpy(float)
    mix = f.slopes.loc[rooms, "slope"].to_numpy(float)
    blue, orange, _green = plots.palette(3)
    arrows = []
    for yi, a, b in zip(y, nop, mix, strict=True):
        arrows.append(ax.annotate("", xy=(b, yi), xytext=(a, yi),
                                  arrowprops={"arrowstyle": "->", "color": "0.3",
                                              "linewidth": 1.3, "shrinkA": 4, "shrinkB": 4}))
    no_line = ax.plot(nop, y, "o", color=orange, markersize=9, markeredgecolor="k",
                      label="no pooling: own OLS slope", linestyle="none")[0]
    mix_line = ax.plot(mix, y, "D", color=blue, markersize=8, markeredgecolor="k",
                       label="partial pooling: mixed-model slope", linestyle="none")[0]
    avg = ax.axvline(f.fixed_slopes[1], color=blue, linestyle="--", linewidth=1.2,
                     label=f"mixed-model average slope ({f.fixed_slopes[1]:.2f})")
    comp = ax.axvline(f.pooled[1], color="k", linestyle=":", linewidth=1.8,
                      label=f"complete pooling: one line ({f.pooled[1]:.2f})")
    n = f.no_pooling.loc[rooms, "n"].to_numpy(int)
    ax.set_yticks(y, [f"{g} (n = {k})" for g, k in zip(rooms, n, strict=True)])
    ax.set_ylabel("classroom")
    ax.set_xlabel("slope (points per extra weekly study hour)")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2, fontsize=8,
              frameon=False)
    ax.set_ylim(-0.7, len(rooms) - 0.3)
    return {"no_pooling": no_line, "mixed": mix_line, "average": avg,
            "complete_pooling": comp, "arrows": arrows}


# --------------------------------------------------------------------------------------------
# Captions (numbers from the fits)
# --------------------------------------------------------------------------------------------
def _pull(f: StoryFits) -> pd.Series:
    return (f.no_pooling["slope"] - f.slopes["slope"]).abs().loc[f.classrooms]


def _caption_pooled(f: StoryFits) -> str:
    return (
        f"One straight line through all {len(f.data)} pupils, ignoring which classroom each "
        f"sits in. Its slope is {f.pooled[1]:.2f} points per weekly study hour, as if studying "
        "more did not help or even hurt."
    )


def _caption_reveal(f: StoryFits) -> str:
    return (
        "The same pupils, now told apart by classroom: each classroom has its own colour "
        "and its own marker shape. Within every classroom the points rise from left to "
        "right; it is the classrooms that study most that score lowest overall, and the "
        "single line blended the two patterns."
    )


def _caption_intercepts(f: StoryFits) -> str:
    return (
        "Random intercepts: every classroom gets its own starting height, drawn from a "
        "normal distribution around the average, while all share one slope "
        f"({f.fixed_intercepts[1]:.2f} points per hour), so the lines are parallel. "
        f"The classroom heights vary with SD {f.sd_intercept:.1f} points."
    )


def _caption_slopes(f: StoryFits) -> str:
    sl = f.slopes["slope"]
    return (
        "Random slopes: each classroom now also gets its own slope, so the lines fan "
        f"out. The slopes run from {sl.min():.2f} to {sl.max():.2f} points per hour "
        f"around an average of {f.fixed_slopes[1]:.2f} (SD between classrooms "
        f"{f.sd_slope:.2f})."
    )


def _caption_pooling(f: StoryFits) -> str:
    g = _pull(f).idxmax()
    return (
        "Partial pooling of the slopes. Circles are each classroom's own least-squares "
        "slope (no pooling), diamonds the mixed model's slope; the arrows show how far "
        "each moves, overall toward the average slope (dashed line). The dotted line is "
        f"the one pooled line of scene 1 (complete pooling). Classroom {g}, with only "
        f"{int(f.no_pooling.loc[g, 'n'])} pupils, moves most: from "
        f"{f.no_pooling.loc[g, 'slope']:.2f} to {f.slopes.loc[g, 'slope']:.2f}."
    )


def _caption_summary(f: StoryFits) -> str:
    return (
        f"Summary: the pooled line says {f.pooled[1]:.2f} points per hour, but inside classrooms "
        f"scores rise by {f.fixed_slopes[1]:.2f} points per hour on average. A mixed model "
        "gives each classroom its own intercept and slope, treats them as draws from one "
        "distribution, and lets small classrooms borrow strength from the others."
    )


@dataclass(frozen=True)
class Scene:
    """One scene of the story: a title, how to draw it, and its caption."""

    title: str
    draw: Callable[[Story, object], dict]  # (story, Axes) -> named artists
    caption: Callable[[StoryFits], str]


#: The story's scenes, in order (scene k is ``SCENES[k - 1]``).
SCENES: tuple[Scene, ...] = (
    Scene("One line for everyone",
          _scatter_scene(False, 0.85, lambda w, ax: {"pooled": _pooled_line(w, ax)}),
          _caption_pooled),
    Scene("The reveal: five classrooms",
          _scatter_scene(True, 0.85,
                         lambda w, ax: {"pooled": _pooled_line(w, ax, linestyle=":")}),
          _caption_reveal),
    Scene("Random intercepts",
          _scatter_scene(True, 0.45,
                         lambda w, ax: {"lines": _classroom_lines(w, ax, w.fits.intercepts)}),
          _caption_intercepts),
    Scene("Random slopes",
          _scatter_scene(True, 0.45,
                         lambda w, ax: {"lines": _classroom_lines(w, ax, w.fits.slopes)}),
          _caption_slopes),
    Scene("Partial pooling", _draw_pooling, _caption_pooling),
    Scene("Summary",
          _scatter_scene(True, 0.45,
                         lambda w, ax: {"lines": _classroom_lines(w, ax, w.fits.slopes),
                                        "pooled": _pooled_line(w, ax, color="0.4",
                                                               linestyle=":")}),
          _caption_summary),
)
N_SCENES = len(SCENES)


class Story(LessonWidget):
    """Widget behind :func:`story` (see :mod:`lmmcourse.widgets` for its API)."""

    def __init__(self, data: pd.DataFrame | None = None, scenes: tuple[Scene, ...] = SCENES):
        if data is None:
            from ..data import load_classrooms

            data = load_classrooms()
        self.fits = fit_story(data)
        self.scenes = tuple(scenes)
        self.figure = AggFigure(figsize=(7.6, 4.6), dpi=90)
        self.image = image_widget()
        self.back_button = W.Button(description="◀ Back", tooltip="previous scene",
                                    layout=W.Layout(width="110px"))
        self.next_button = W.Button(description="Next ▶", tooltip="next scene",
                                    button_style="primary", layout=W.Layout(width="110px"))
        self.back_button.add_class("lmm-story-back")
        self.next_button.add_class("lmm-story-next")
        self.counter = W.Label()
        self.counter.add_class("lmm-story-counter")
        self.caption = caption_widget("lmm-story-caption")
        self.artists: dict = {}
        self.axes = None
        self.scene = 1
        self.back_button.on_click(lambda _b: self.go(self.scene - 1))
        self.next_button.on_click(lambda _b: self.go(self.scene + 1))
        nav = W.HBox([self.back_button, self.counter, self.next_button],
                     layout=W.Layout(align_items="center", justify_content="flex-start"))
        self.counter.layout = W.Layout(margin="0 12px")
        super().__init__([nav, self.image, self.caption, a11y_helper()])
        self.add_class("lmm-story")
        self.go(1)

    def go(self, k: int) -> None:
        """Show scene ``k`` (clipped to 1..number of scenes): the one place the scene changes."""
        n = len(self.scenes)
        self.scene = int(min(max(k, 1), n))
        sc = self.scenes[self.scene - 1]
        self.back_button.disabled = self.scene == 1
        self.next_button.disabled = self.scene == n
        self.counter.value = f"Scene {self.scene} of {n}: {sc.title}"
        fig = self.figure.fig
        fig.clear()
        ax = fig.add_subplot(1, 1, 1)
        self.axes = ax
        self.artists = sc.draw(self, ax)
        ax.set_title(f"Scene {self.scene}: {sc.title}", fontsize=11)
        ax.grid(alpha=0.3)
        fig.tight_layout()
        caption = sc.caption(self.fits)
        self.caption.value = html.escape(caption)
        self.image.alt = self.alt_text()
        self.image.value = self.figure.render()

    def pull(self) -> pd.Series:
        """Absolute pull of each classroom's slope, |no-pooling - mixed model|."""
        return _pull(self.fits)

    def caption_text(self, k: int | None = None) -> str:
        """The caption of scene ``k`` (default: the current scene), numbers from the fits."""
        k = self.scene if k is None else k
        return self.scenes[k - 1].caption(self.fits)

    def alt_text(self) -> str:
        return f"Scene {self.scene} of {len(self.scenes)}: {self.caption_text()}"


@skip_when_grading
def story(data: pd.DataFrame | None = None) -> Story:
    """Six-scene interactive story of random intercepts, random slopes and partial pooling.

    The models are fitted once, when the widget is built (:func:`fit_story`); Back/Next only
    redraw. Back is disabled at the first scene and Next at the last.

    Parameters
    ----------
    data : pandas.DataFrame, optional
        Classrooms data; :func:`lmmcourse.data.load_classrooms` by default.

    Returns
    -------
    Story or SkippedWidget
        A :class:`~lmmcourse.widgets.LessonWidget`; a :class:`~lmmcourse.widgets.SkippedWidget`
        under nbgrader.
    """
    return Story(data)
