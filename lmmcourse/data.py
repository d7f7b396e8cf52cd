"""Seeded simulators and validated loaders for the lesson's data sets.

Every CSV in ``data/`` is written by a generator in this module (``python -m lmmcourse.data`` or
``make data``); nothing in ``data/`` is edited by hand, and all of the data are synthetic.

=========================  =====================  ======================  =================
file                       simulator              loader                  used for
=========================  =====================  ======================  =================
``phaa_clinics.csv``       :func:`simulate_clinics`  :func:`load_clinics`  worked example (SBP)
``milk_herds.csv``         :func:`simulate_herds`    :func:`load_herds`    ICC example
``multicentre_trial.csv``  :func:`simulate_trial`    :func:`load_trial`    random slopes
``classrooms.csv``         :func:`simulate_classrooms`  :func:`load_classrooms`  interactive story
``hospital_costs.csv``     :func:`simulate_costs`    :func:`load_costs`    Box-Cox
=========================  =====================  ======================  =================

Loaders find a file with one rule (see :func:`data_path`): the folder in the environment variable
``LMMCOURSE_DATA`` if set; else ``data/<file>`` in the current directory or one of its parents;
else the repository's ``data/`` folder next to the package. They check every column and raise
``ValueError`` naming the file, the column, the first offending data row and its value.

References
----------
Snijders, T. A. B. & Bosker, R. J. (2012). *Multilevel Analysis*, 2nd ed. Sage. (simulation
models of chapters 4-5.)
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = [
    "DATA_FILES",
    "data_path",
    "load_classrooms",
    "simulate_classrooms",
]

#: Default seeds: the committed CSVs are exactly ``simulate_*(seed=<this>)``.
SEEDS = {
    "classrooms": 4,
    "clinics": 410,
    "herds": 1982,
    "trial": 30,
    "costs": 1964,
}

_ENV_VAR = "LMMCOURSE_DATA"
_REPO_DATA = Path(__file__).resolve().parents[1] / "data"


# --------------------------------------------------------------------------------------------
# Path lookup
# --------------------------------------------------------------------------------------------
def data_path(filename: str, path: str | os.PathLike | None = None) -> Path:
    """Locate a data file.

    Parameters
    ----------
    filename : str
        Bare file name, e.g. ``"phaa_clinics.csv"``.
    path : str or path-like, optional
        An explicit file to use. If given it must exist.

    Returns
    -------
    pathlib.Path
        The first existing candidate, in this order: ``path``; ``$LMMCOURSE_DATA/<filename>``
        (when the variable is set, only that folder is searched); ``data/<filename>`` in the current
        directory and then each of its parents; ``<repository>/data/<filename>``.

    Raises
    ------
    FileNotFoundError
        Listing every place searched and how to regenerate the data (``make data``).
    """
    if path is not None:
        p = Path(path)
        if not p.is_file():
            raise FileNotFoundError(
                f"data file {str(p)!r} does not exist. Pass an existing path, or path=None to "
                f"search for {filename!r} (regenerate the data with `make data`)."
            )
        return p

    env = os.environ.get(_ENV_VAR)
    if env:
        candidates = [Path(env) / filename]
    else:
        cwd = Path.cwd().resolve()
        candidates = [d / "data" / filename for d in (cwd, *cwd.parents)]
        candidates.append(_REPO_DATA / filename)
    for c in candidates:
        if c.is_file():
            return c
    where = "\n  ".join(dict.fromkeys(str(c) for c in candidates))
    hint = f" ({_ENV_VAR}={env!r} is set; unset it to search the default places)" if env else ""
    raise FileNotFoundError(
        f"could not find {filename!r}{hint}. Looked in:\n  {where}\n"
        "Regenerate the data with `make data` (or `python -m lmmcourse.data`) in the repository, "
        f"or point {_ENV_VAR} at a folder holding the CSV files."
    )


# --------------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Col:
    """Specification of one CSV column for :func:`_read_validated`."""

    name: str
    kind: str  # "id", "category", "float", "int"
    levels: tuple[str, ...] = ()
    low: float | None = None  # inclusive lower bound
    high: float | None = None  # inclusive upper bound
    low_open: bool = False  # True: the lower bound is exclusive (value must be > low)
    what: str = ""  # human wording of the allowed range, for messages


def _fail(file: Path, col: str, row: int, value: str, problem: str) -> ValueError:
    return ValueError(
        f"{file}: column {col!r}, data row {row} (line {row + 1} of the file): value {value!r} "
        f"{problem}. Fix or regenerate the file (`make data`)."
    )


def _read_validated(file: Path, spec: list[_Col]) -> pd.DataFrame:
    """Read ``file`` as text, check it against ``spec`` and return a typed DataFrame."""
    try:
        raw = pd.read_csv(file, dtype=str, keep_default_na=False)
    except pd.errors.EmptyDataError:
        raise ValueError(
            f"{file}: the file is empty (no header, no data). Regenerate it with `make data`."
        ) from None
    missing = [c.name for c in spec if c.name not in raw.columns]
    if missing:
        raise ValueError(
            f"{file}: missing column(s) {missing}; expected columns {[c.name for c in spec]} "
            f"but found {list(raw.columns)}. Regenerate the file with `make data`."
        )
    if len(raw) == 0:
        raise ValueError(f"{file}: the file has a header but no data rows.")

    out = {}
    for c in spec:
        s = raw[c.name].str.strip()
        if c.kind == "id":
            bad = s == ""
            if bad.any():
                i = int(np.argmax(bad.to_numpy()))
                raise _fail(file, c.name, i + 1, s.iloc[i], "is empty; every row needs an id")
            out[c.name] = s.astype(str)
        elif c.kind == "category":
            bad = ~s.isin(c.levels)
            if bad.any():
                i = int(np.argmax(bad.to_numpy()))
                raise _fail(
                    file, c.name, i + 1, s.iloc[i], f"is not one of {list(c.levels)}"
                )
            out[c.name] = pd.Categorical(s, categories=list(c.levels))
        else:
            num = pd.to_numeric(s, errors="coerce")
            bad = num.isna() | ~np.isfinite(num.to_numpy(dtype=float, na_value=np.nan))
            if bad.any():
                i = int(np.argmax(bad.to_numpy()))
                raise _fail(file, c.name, i + 1, s.iloc[i], "is not a finite number")
            v = num.to_numpy(dtype=float)
            bad = np.zeros(len(v), dtype=bool)
            if c.kind == "int":
                bad |= v != np.round(v)
            if c.low is not None:
                bad |= (v <= c.low) if c.low_open else (v < c.low)
            if c.high is not None:
                bad |= v > c.high
            if bad.any():
                i = int(np.argmax(bad))
                problem = f"is outside the allowed range ({c.what})" if c.what else "is invalid"
                raise _fail(file, c.name, i + 1, s.iloc[i], problem)
            out[c.name] = v.astype(np.int64) if c.kind == "int" else v
    return pd.DataFrame(out)


def _to_csv(df: pd.DataFrame, file: Path, float_format: str = "%.1f") -> None:
    """Write ``df`` reproducibly: no index, fixed float format, ``\\n`` line ends."""
    df.to_csv(file, index=False, lineterminator="\n", float_format=float_format)


# --------------------------------------------------------------------------------------------
# Classrooms: the interactive story
# --------------------------------------------------------------------------------------------
#: Truths of the classrooms data: one row per classroom.
CLASSROOM_TRUTH = pd.DataFrame(
    {
        "classroom": ["A", "B", "C", "D", "E"],
        "n": [18, 20, 5, 17, 16],
        "hours_mean": [4.0, 7.0, 9.5, 12.0, 15.0],
        "score_at_mean": [72.0, 66.0, 74.0, 55.0, 48.0],
        "slope": [1.0, 2.0, 5.5, 2.5, 3.5],
    }
)
CLASSROOM_SIGMA_E = 4.0
CLASSROOM_HOURS_HALFWIDTH = 3.0


def simulate_classrooms(seed: int = SEEDS["classrooms"]) -> pd.DataFrame:
    r"""Simulate the five-classroom data of the interactive story.

    Pupil :math:`i` in classroom :math:`j` studies ``hours`` :math:`x_{ij} \sim
    U(\bar x_j - 3, \bar x_j + 3)` and scores

    .. math:: y_{ij} = s_j + \beta_j (x_{ij} - \bar x_j) + e_{ij},
              \quad e_{ij} \sim N(0, 4^2),

    where classroom :math:`j` has mean hours :math:`\bar x_j`, score :math:`s_j` at its mean
    hours and slope :math:`\beta_j` (``CLASSROOM_TRUTH``). Classrooms that study more score
    lower on average, so a pooled regression that ignores classrooms finds a slope near zero or
    negative, although every within-classroom slope is positive (1 to 5.5 points per hour: the
    lines fan out). Classroom C has only 5 pupils and the steepest true slope, so partial pooling
    visibly pulls its line towards the average line.

    Parameters
    ----------
    seed : int
        Seed for :func:`numpy.random.default_rng`.

    Returns
    -------
    pandas.DataFrame
        Columns ``classroom`` ("A"-"E"), ``hours`` (study hours per week, 1 decimal) and
        ``score`` (test score in points, 0-100, 1 decimal); 76 rows.

    References
    ----------
    Gelman, A. & Hill, J. (2007). *Data Analysis Using Regression and Multilevel/Hierarchical
    Models*, ch. 12 (varying intercepts and slopes; partial pooling).
    """
    rng = np.random.default_rng(seed)
    t = CLASSROOM_TRUTH
    n = t["n"].to_numpy()
    cls = np.repeat(t["classroom"].to_numpy(), n)
    xbar = np.repeat(t["hours_mean"].to_numpy(), n)
    s = np.repeat(t["score_at_mean"].to_numpy(), n)
    b = np.repeat(t["slope"].to_numpy(), n)
    hours = np.round(rng.uniform(xbar - CLASSROOM_HOURS_HALFWIDTH,
                                 xbar + CLASSROOM_HOURS_HALFWIDTH), 1)
    score = s + b * (hours - xbar) + rng.normal(0.0, CLASSROOM_SIGMA_E, n.sum())
    score = np.round(np.clip(score, 0.0, 100.0), 1)
    return pd.DataFrame({"classroom": cls, "hours": hours, "score": score})


_CLASSROOM_SPEC = [
    _Col("classroom", "id"),
    _Col("hours", "float", low=0, high=168, what="0 to 168 hours per week"),
    _Col("score", "float", low=0, high=100, what="0 to 100 points"),
]


def load_classrooms(path: str | os.PathLike | None = None) -> pd.DataFrame:
    """Load and validate ``classrooms.csv``.

    Parameters
    ----------
    path : str or path-like, optional
        The CSV to read; by default found by :func:`data_path`.

    Returns
    -------
    pandas.DataFrame
        ``classroom`` (categorical, "A"-"E"), ``hours`` and ``score`` (float).

    Raises
    ------
    FileNotFoundError
        If the file cannot be found.
    ValueError
        If a column is missing, the file has no rows, or a value is non-numeric or impossible
        (hours outside 0-168, score outside 0-100); the message names file, column, row and value.
    """
    file = data_path("classrooms.csv", path)
    df = _read_validated(file, _CLASSROOM_SPEC)
    df["classroom"] = pd.Categorical(df["classroom"], categories=sorted(df["classroom"].unique()))
    return df


# --------------------------------------------------------------------------------------------
# Regeneration
# --------------------------------------------------------------------------------------------
#: File name -> simulator (called with its default seed) for every committed CSV.
DATA_FILES = {
    "classrooms.csv": simulate_classrooms,
}
