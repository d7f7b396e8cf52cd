"""Run every benchmark in ``benchmarks/bench_*.py`` and print one table.

Each module defines functions named ``bench_*`` that take no argument and return a dict with keys
``name``, ``value``, ``unit`` and ``target`` (a string such as ``"<= 30"``). Run with ``make bench``.
"""

import importlib.util
import sys
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _modules(only=None):
    for path in sorted(HERE.glob("bench_*.py")):
        if only and not any(word in path.stem for word in only):
            continue
        spec = importlib.util.spec_from_file_location(path.stem, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        yield module


def main(argv=None):
    only = (argv if argv is not None else sys.argv[1:]) or None
    rows, failed = [], 0
    for module in _modules(only):
        for attr in sorted(a for a in dir(module) if a.startswith("bench_")):
            try:
                rows.append(getattr(module, attr)())
            except Exception:  # a broken benchmark is reported, the others still run
                failed += 1
                traceback.print_exc()
                rows.append({"name": f"{module.__name__}.{attr}", "value": float("nan"),
                             "unit": "error", "target": "-"})
    width = max([len(r["name"]) for r in rows] + [4])
    print(f"{'name':<{width}}  {'value':>10}  {'unit':<12}  target")
    for r in rows:
        print(f"{r['name']:<{width}}  {r['value']:>10.3g}  {r['unit']:<12}  {r['target']}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
