"""Inference for linear mixed models fitted with statsmodels, as R users get it from lme4,
lmerTest, pbkrtest and performance.

All functions take a fitted ``MixedLMResults`` from statsmodels' formula interface
(``smf.mixedlm(...).fit()``) unless stated otherwise. Use :func:`fit_tight` to fit to lme4's
precision.

=============================  ===============================================================
variance components            :func:`icc`, :func:`r2_nakagawa`, :func:`icc_from_components`,
                               :func:`shrinkage_factor`, :func:`anova_components`
random effects                 :func:`blups`, :func:`ranova`
model comparison               :func:`compare`, :func:`bootstrap_lrt`
fixed effects                  :func:`satterthwaite`, :func:`satterthwaite_f`,
                               :func:`kenward_roger`, :func:`kenward_roger_f`
intervals                      :func:`confint`, :func:`icc_interval`
influence                      :func:`cluster_influence`
clustering bridges             :func:`design_effect`, :func:`estimator_table`
display                        :func:`format_pval` (tables print like lmerTest: see ``_display``)
transformation                 :func:`boxcox`
fixed vs random effects        :func:`hausman`, :func:`mundlak_test`
fitting and checks             :func:`fit_tight`, :func:`validate_result`,
                               :func:`check_singular`, :func:`singular_components`
=============================  ===============================================================
"""

from . import _display
from ._blup import blups
from ._bootstrap import bootstrap_lrt
from ._bridge import design_effect, estimator_table
from ._compare import compare, ranova
from ._components import (
    anova_components,
    icc,
    icc_from_components,
    r2_nakagawa,
    shrinkage_factor,
)
from ._confint import confint, icc_interval
from ._core import (
    BoundaryFitWarning,
    ZeroFixedEffectWarning,
    check_singular,
    is_reml,
    model_arrays,
    singular_components,
    validate_result,
)
from ._ddf import kenward_roger, kenward_roger_f, satterthwaite, satterthwaite_f
from ._display import format_pval
from ._fit import fit_tight
from ._hausman import hausman, mundlak_test
from ._influence import cluster_influence
from ._transform import boxcox

# Tables and results print like lmerTest/lme4 (same values and keys; see _display).
satterthwaite = _display.lmer_table(satterthwaite)
kenward_roger = _display.lmer_table(kenward_roger)
satterthwaite_f = _display.lmer_table(satterthwaite_f)
kenward_roger_f = _display.lmer_table(kenward_roger_f)
ranova = _display.lmer_table(ranova)
compare = _display.lmer_table(compare, kind="compare")
hausman = _display.lmer_table(hausman)
mundlak_test = _display.lmer_table(mundlak_test)
boxcox = _display.lmer_table(boxcox, kind="boxcox")

__all__ = [
    "BoundaryFitWarning",
    "ZeroFixedEffectWarning",
    "anova_components",
    "blups",
    "bootstrap_lrt",
    "boxcox",
    "check_singular",
    "cluster_influence",
    "compare",
    "confint",
    "design_effect",
    "estimator_table",
    "fit_tight",
    "format_pval",
    "hausman",
    "icc",
    "icc_interval",
    "icc_from_components",
    "is_reml",
    "kenward_roger",
    "kenward_roger_f",
    "model_arrays",
    "mundlak_test",
    "r2_nakagawa",
    "ranova",
    "satterthwaite",
    "satterthwaite_f",
    "shrinkage_factor",
    "singular_components",
    "validate_result",
]
