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
transformation                 :func:`boxcox`
fixed vs random effects        :func:`hausman`, :func:`mundlak_test`
fitting and checks             :func:`fit_tight`, :func:`validate_result`,
                               :func:`check_singular`, :func:`singular_components`
=============================  ===============================================================
"""

from ._blup import blups
from ._bootstrap import bootstrap_lrt
from ._compare import compare, ranova
from ._components import (
    anova_components,
    icc,
    icc_from_components,
    r2_nakagawa,
    shrinkage_factor,
)
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
from ._fit import fit_tight
from ._hausman import hausman, mundlak_test
from ._transform import boxcox

__all__ = [
    "BoundaryFitWarning",
    "ZeroFixedEffectWarning",
    "anova_components",
    "blups",
    "bootstrap_lrt",
    "boxcox",
    "check_singular",
    "compare",
    "fit_tight",
    "hausman",
    "icc",
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
