"""Seeded simulators and validated loaders for the lesson's data sets.

Every CSV in ``data/`` is written by a generator in this module (``python -m lmmcourse.data`` or
``make data``); nothing in ``data/`` is edited by hand, and all of the data are synthetic.

- ``phaa_clinics.csv``: :func:`simulate_clinics` / :func:`load_clinics` (worked example, SBP)
- ``milk_herds.csv``: :func:`simulate_herds` / :func:`load_herds` (ICC example)
- ``multicentre_trial.csv``: :func:`simulate_trial` / :func:`load_trial` (random slopes)
- ``classrooms.csv``: :func:`simulate_classrooms` / :func:`load_classrooms` (interactive story)
- ``hospital_costs.csv``: :func:`simulate_costs` / :func:`load_costs` (Box-Cox)
- :func:`one_way` and :func:`negative_anova_example`: small one-way data sets for demonstrations

``DATASETS`` lists every generator with its file, loader, default seed (``SEEDS``) and true values.
The Monte Carlo studies built on these generators (ML vs REML bias, the boundary LRT) are in
:mod:`lmmcourse.simulate`.

The codebook (units, ranges, true values, seeds) is ``data/README.md``.

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

import argparse
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from ._io import _REPO_DATA, _to_csv, data_path
from ._sets import (
    CLASSROOM_TRUTH,
    CLINIC_TRUTH,
    COST_TRUTH,
    HERD_TRUTH,
    NEGATIVE_ANOVA_TRUTH,
    SEEDS,
    TRIAL_TRUTH,
    load_classrooms,
    load_clinics,
    load_costs,
    load_herds,
    load_trial,
    negative_anova_example,
    one_way,
    simulate_classrooms,
    simulate_clinics,
    simulate_costs,
    simulate_herds,
    simulate_trial,
)

__all__ = [
    "DATASETS",
    "DATA_FILES",
    "NEGATIVE_ANOVA_TRUTH",
    "Dataset",
    "SEEDS",
    "data_path",
    "load_classrooms",
    "load_clinics",
    "load_costs",
    "load_herds",
    "load_trial",
    "negative_anova_example",
    "one_way",
    "simulate_classrooms",
    "simulate_clinics",
    "simulate_costs",
    "simulate_herds",
    "simulate_trial",
    "write_all",
]


# --------------------------------------------------------------------------------------------
#: File name -> (simulator, float format) for every committed CSV; simulators use their
#: default seed (``SEEDS``).
DATA_FILES = {
    "phaa_clinics.csv": (simulate_clinics, "%.1f"),
    "milk_herds.csv": (simulate_herds, "%.1f"),
    "multicentre_trial.csv": (simulate_trial, "%.1f"),
    "classrooms.csv": (simulate_classrooms, "%.1f"),
    "hospital_costs.csv": (simulate_costs, "%.2f"),
}


@dataclass(frozen=True)
class Dataset:
    """One of the lesson's data sets: its file, generator, loader, seed and true values."""

    file: str | None
    simulate: object
    load: object | None
    seed: int
    truth: object


#: Every generator of the lesson in one place, with its default seed and true values.
DATASETS = {
    "clinics": Dataset("phaa_clinics.csv", simulate_clinics, load_clinics, SEEDS["clinics"], CLINIC_TRUTH),
    "herds": Dataset("milk_herds.csv", simulate_herds, load_herds, SEEDS["herds"], HERD_TRUTH),
    "trial": Dataset("multicentre_trial.csv", simulate_trial, load_trial, SEEDS["trial"], TRIAL_TRUTH),
    "classrooms": Dataset("classrooms.csv", simulate_classrooms, load_classrooms, SEEDS["classrooms"],
                          CLASSROOM_TRUTH),
    "costs": Dataset("hospital_costs.csv", simulate_costs, load_costs, SEEDS["costs"], COST_TRUTH),
    "negative_anova": Dataset(None, negative_anova_example, None, SEEDS["negative_anova"],
                              NEGATIVE_ANOVA_TRUTH),
}


def write_all(folder: str | os.PathLike, names: list[str] | None = None) -> list[Path]:
    """Write every data set (or those in ``names``) into ``folder`` with its default seed.

    Parameters
    ----------
    folder : str or path-like
        Destination folder, created if needed.
    names : list of str, optional
        File names from ``DATA_FILES``; default all.

    Returns
    -------
    list of pathlib.Path
        The files written.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name in names or list(DATA_FILES):
        sim, fmt = DATA_FILES[name]
        _to_csv(sim(), folder / name, float_format=fmt)
        written.append(folder / name)
    return written


def main(argv: list[str] | None = None) -> int:
    """Command line: ``python -m lmmcourse.data [--check] [--out FOLDER]``."""
    ap = argparse.ArgumentParser(
        prog="python -m lmmcourse.data",
        description="Regenerate the lesson's CSV files from their seeded simulators.",
    )
    ap.add_argument("--out", default=str(_REPO_DATA), help="folder to write (default: repo data/)")
    ap.add_argument("--check", action="store_true",
                    help="compare freshly generated files with those in --out; write nothing; "
                         "exit 1 naming each file that differs or is missing")
    args = ap.parse_args(argv)
    out = Path(args.out)
    if not args.check:
        for f in write_all(out):
            print(f"wrote {f}")
        return 0
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        fresh = write_all(tmp)
        bad = [f.name for f in fresh
               if not (out / f.name).is_file() or (out / f.name).read_bytes() != f.read_bytes()]
    for name in bad:
        print(f"{out / name} differs from a fresh build (run `make data`)", file=sys.stderr)
    if not bad:
        print(f"all {len(fresh)} data files in {out} match a fresh build")
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
