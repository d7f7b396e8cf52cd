"""Helpers for the courseware "Mixed Models for Continuous Data".

Sub-modules (import what you need; nothing heavy is imported here):

- ``lmmcourse.data``: seeded simulators and validated loaders for the lesson's data sets.
- ``lmmcourse.stats``: lme4/lmerTest/pbkrtest/performance-style inference on statsmodels MixedLM.
- ``lmmcourse.widgets`` and ``lmmcourse.plots``: interactive figures and static plots.
- ``lmmcourse.grading``: answer normalisation, instant feedback and nbgrader helpers.
"""

__version__ = "0.1.0"
