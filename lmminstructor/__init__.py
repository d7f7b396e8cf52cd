"""Instructor tools for the courseware "Mixed Models for Continuous Data" (not shipped to students).

- ``lmminstructor.conventions``: the nbgrader conventions of the masters, parsed once (:class:`Master`).
- ``lmminstructor.preprocessors``: nbconvert preprocessors (header filling for nbgrader, the
  self-study transform).
- ``lmminstructor.build``: ``make build`` / ``make check-sync``.
- ``lmminstructor.timing``: the estimated time of a notebook, from its content.
- ``lmminstructor.leaks``: the leak scan of student-facing files.
- ``lmminstructor.bundle``: ``make student-bundle``.
- ``lmminstructor.autograde_demo``: ``make autograde-demo``.
"""

__version__ = "0.1.0"
