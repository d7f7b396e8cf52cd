"""Inference for linear mixed models fitted with statsmodels, as R users get it from lme4,
lmerTest, pbkrtest and performance.

All functions take a fitted ``MixedLMResults`` from statsmodels' formula interface
(``smf.mixedlm(...).fit()``) unless stated otherwise.
"""

from ._components import icc_from_components, shrinkage_factor

__all__ = [
    "icc_from_components",
    "shrinkage_factor",
]
