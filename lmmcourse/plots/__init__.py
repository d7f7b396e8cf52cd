"""Static plots used across the lesson's notebooks.

Every function draws on a Matplotlib ``Axes`` it is given (``ax=``) or, when ``ax`` is None, on a
new figure made with :func:`matplotlib.pyplot.subplots` (so a notebook shows it inline), and
returns the ``Axes`` (or an array of them). Nothing here calls ``plt.show()``.

Every function also stores a text alternative on the Axes it drew: what the figure shows, with
its key numbers (:func:`alt_text` reads it; :func:`set_alt` adds one to a figure drawn by
other means). In a notebook the figure is then displayed, once, as ``<img alt=...>`` (with the
usual PNG beside it), so screen readers, the executed answer keys and HTML exports all carry
the description; see :mod:`lmmcourse.plots._core` for how.

Conventions (see CONTRIBUTING.md): the Okabe-Ito colour-blind-safe palette (:func:`palette`),
axis labels with units, no meaning carried by colour alone (marker shapes and line styles
repeat every distinction that a colour makes), text in near-black on white, and figures that
grow with the number of labelled clusters (0.22 in a row), so tick labels never overlap.

============================  =================================================================
function                      what it shows
============================  =================================================================
:func:`palette`               the Okabe-Ito colours used everywhere (also :data:`MARKERS`)
:func:`use_style`             readable Matplotlib defaults for the lesson
:func:`caterpillar`           sorted BLUPs with +-1.96 SD bars, one panel per random effect
:func:`qq`                    normal QQ plot with R's ``qqline`` reference line
:func:`residuals_vs`          residuals against a variable, with a lowess or binned-mean line
:func:`shrinkage_plot`        raw cluster means and mixed-model estimates joined by arrows
:func:`profile_plot`          Box-Cox profile log-likelihood against lambda with its CI
:func:`null_lrt_histogram`    simulated null LRT values against chi2_1 and the 50:50 mixture
:func:`clinic_overview`       patients by cluster with the cluster means and t intervals, sorted
:func:`cluster_lines`         complete vs no vs partial pooling: lines per cluster, 3 panels
:func:`ml_reml_plot`          simulated ML and REML estimates of a variance against the truth
:func:`cluster_influence_plot` leave-one-cluster-out Cook's distance with a reference line
:func:`set_alt`, :func:`alt_text`  attach / read a figure's text alternative
============================  =================================================================
"""

from __future__ import annotations

from ._core import (
    LINESTYLES,
    MARKERS,
    OKABE_ITO,
    alt_text,
    enable_alt_text,
    figure_html,
    img_tag,
    palette,
    set_alt,
    use_style,
)
from ._diagnostics import (
    _blup_frame,  # noqa: F401  (used by lmmcourse.widgets)
    caterpillar,
    caterpillar_alt,
    caterpillar_figsize,
    null_lrt_histogram,
    profile_plot,
    qq,
    residuals_vs,
    shrinkage_plot,
)
from ._lesson import clinic_overview, cluster_influence_plot, cluster_lines, ml_reml_plot

__all__ = [
    "LINESTYLES",
    "MARKERS",
    "OKABE_ITO",
    "alt_text",
    "caterpillar",
    "caterpillar_alt",
    "caterpillar_figsize",
    "clinic_overview",
    "cluster_influence_plot",
    "cluster_lines",
    "enable_alt_text",
    "figure_html",
    "img_tag",
    "ml_reml_plot",
    "null_lrt_histogram",
    "palette",
    "profile_plot",
    "qq",
    "residuals_vs",
    "set_alt",
    "shrinkage_plot",
    "use_style",
]
