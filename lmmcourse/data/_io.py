"""Finding and validating the lesson's CSV files (used by the loaders in :mod:`._sets`)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

_ENV_VAR = "LMMCOURSE_DATA"
_REPO_DATA = Path(__file__).resolve().parents[2] / "data"


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


def _check_constant_within(df: pd.DataFrame, file: Path, group: str, cols: list[str]) -> None:
    """Raise ValueError at the first row where a cluster-level column changes within a cluster."""
    for c in cols:
        first = df.groupby(group, observed=True)[c].transform("first")
        bad = (df[c] != first).to_numpy()
        if bad.any():
            i = int(np.argmax(bad))
            raise _fail(
                file, c, i + 1, str(df[c].iloc[i]),
                f"differs from the first value {first.iloc[i]!r} of {group} "
                f"{df[group].iloc[i]!r}; a cluster-level variable must be constant within a cluster",
            )


def _as_group(s: pd.Series) -> pd.Categorical:
    return pd.Categorical(s, categories=sorted(pd.unique(s)))


def _load(
    filename: str,
    path: str | os.PathLike | None,
    spec: list[_Col],
    group: str,
    cluster_level: tuple[str, ...] = (),
) -> pd.DataFrame:
    """What every ``load_*`` does: find the file, validate it, make ``group`` categorical.

    ``cluster_level`` columns must be constant within each level of ``group``.
    """
    file = data_path(filename, path)
    df = _read_validated(file, spec)
    _check_constant_within(df, file, group, list(cluster_level))
    df[group] = _as_group(df[group])
    return df


def _to_csv(df: pd.DataFrame, file: Path, float_format: str = "%.1f") -> None:
    """Write ``df`` reproducibly: no index, fixed float format, ``\\n`` line ends."""
    df.to_csv(file, index=False, lineterminator="\n", float_format=float_format)
