"""One-source build: every student- and instructor-facing notebook comes from the masters in ``source/``.

``python -m lmmcourse.build`` (``make build``) writes, from ``source/<assignment>/<notebook>.ipynb``:

* ``release/<assignment>/<notebook>.ipynb``: nbgrader's student version (``generate_assignment``);
* ``solutions/<assignment>/<notebook>.ipynb``: nbgrader's answer key (``generate_solution``), executed
  so that it shows its outputs;
* ``notebooks/<notebook>.ipynb``: the self-study edition: no solutions and no hidden tests, nbgrader
  stubs replaced by prompts, test cells replaced by instant feedback (``check("q1_2", q1_2)``),
  reflections by a text box; it runs top to bottom when nothing is answered;
* ``lmmcourse/feedback_bank.json``: the salted, encoded key bank behind ``check``.

``python -m lmmcourse.build --check`` (``make check-sync``) rebuilds into a temporary folder and exits 1,
naming each file, when a committed file differs (solutions are compared without their outputs, which
carry run-time details such as widget ids).
"""

from __future__ import annotations

import argparse
import ast
import copy
import hashlib
import io
import json
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path

import nbformat

from .grading import CHOICES, encode_text, hash_answer

ROOT = Path(__file__).resolve().parents[1]
BANK_NAME = "lmmcourse/feedback_bank.json"
POINTS_MARKER = "<!-- points-table -->"
NOTEBOOK_METADATA = {
    "kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
    "language_info": {"name": "python"},
}
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
STUB_LINES = ("# YOUR CODE HERE", "raise NotImplementedError()")
HIDDEN = re.compile(r"^[ \t]*### BEGIN HIDDEN TESTS[ \t]*\n(.*?)^[ \t]*### END HIDDEN TESTS[ \t]*\n?",
                    re.S | re.M)


class BuildError(RuntimeError):
    """A master breaks a convention the build relies on."""


# ----------------------------------------------------------------------------- notebook helpers
def masters(source: Path):
    """Yield ``(assignment, path)`` for every master notebook, in a stable order."""
    for path in sorted(source.glob("*/*.ipynb")):
        if ".ipynb_checkpoints" not in path.parts:
            yield path.parent.name, path


def nbgrader_meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def clean_notebook(nb, keep_nbgrader=True, keep_outputs=False):
    """Strip stray metadata: execution counts, editor state, widget state; fix the notebook metadata."""
    nb.metadata = copy.deepcopy(NOTEBOOK_METADATA)
    for cell in nb.cells:
        meta = {}
        if keep_nbgrader and "nbgrader" in cell.metadata:
            meta["nbgrader"] = cell.metadata["nbgrader"]
        cell.metadata = meta
        if cell.cell_type == "code":
            if not keep_outputs:
                cell.execution_count = None
                cell.outputs = []
            else:
                # executed answer keys keep their execution counts: nbval treats a cell with outputs
                # and no count as an unrun reference cell
                for out in cell.outputs:
                    # a stored widget view shows "model not found" once the kernel is gone: keep only
                    # the static image/HTML fallback that every lmmcourse widget also provides
                    data = out.get("data", {})
                    if WIDGET_VIEW in data and len(data) > 1:
                        del data[WIDGET_VIEW]
    return nb


def write_notebook(nb, path: Path):
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.validate(nb)
    path.write_text(nbformat.writes(nb) + "\n", encoding="utf-8")


def _points(nb) -> list[tuple[str, float]]:
    """(part, points) for every graded cell: knowledge check, activity or reflection."""
    rows = []
    for cell in nb.cells:
        meta = nbgrader_meta(cell)
        if not meta.get("grade"):
            continue
        gid = meta.get("grade_id", "")
        if cell.cell_type == "markdown" or meta.get("solution"):
            part = "Reflection (graded by your instructor)"
        elif re.match(r"test_q(\d+|f)_\d+$", gid):
            part = "Knowledge check" if not gid.startswith("test_qf_") else "Assessment questions"
        else:
            part = "Python activity"
        rows.append((part, float(meta.get("points", 0))))
    return rows


def points_table(nb) -> str:
    """Markdown table of points per part and in total, computed from the nbgrader metadata."""
    totals: dict[str, list[float]] = {}
    for part, pts in _points(nb):
        totals.setdefault(part, []).append(pts)
    if not totals:
        return ""
    lines = ["| Part | Items | Points |", "| --- | ---: | ---: |"]
    for part, pts in totals.items():
        lines.append(f"| {part} | {len(pts)} | {sum(pts):g} |")
    lines.append(f"| **Total** | {sum(len(p) for p in totals.values())} | "
                 f"**{sum(sum(p) for p in totals.values()):g}** |")
    return "**Points in this notebook**\n\n" + "\n".join(lines)


def fill_points(nb, table: str):
    for cell in nb.cells:
        if cell.cell_type == "markdown" and POINTS_MARKER in cell.source:
            cell.source = cell.source.replace(POINTS_MARKER, table)
    return nb


# ----------------------------------------------------------------------------- feedback bank
def _salt(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:16]


def parse_choice_call(code: str):
    """``(key, feedback, options)`` of the ``grade_choice(...)`` call in hidden-test code, or None."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return None
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                and node.func.id == "grade_choice"):
            kwargs = {k.arg: k.value for k in node.keywords}
            try:
                key = ast.literal_eval(kwargs["key"])
                feedback = ast.literal_eval(kwargs["feedback"])
                options = tuple(ast.literal_eval(kwargs["options"])) if "options" in kwargs \
                    else CHOICES
            except (KeyError, ValueError):
                return None
            return key, feedback, options
    return None


def bank_entries(nb, notebook: str) -> tuple[dict, dict]:
    """Questions and reflections of one master, encoded for the self-study edition."""
    questions, reflections = {}, {}
    for cell in nb.cells:
        meta = nbgrader_meta(cell)
        gid = meta.get("grade_id", "")
        if cell.cell_type == "code" and meta.get("grade") and not meta.get("solution"):
            if not gid.startswith("test_"):
                raise BuildError(f"{notebook}: test cell {gid!r} must be named test_<answer variable>")
            qid = gid[len("test_"):]
            hidden = "".join(HIDDEN.findall(cell.source))
            salt = _salt(notebook, qid, cell.source)
            parsed = parse_choice_call(hidden)
            if parsed:
                key, feedback, options = parsed
                if key not in options or set(feedback) != set(options):
                    raise BuildError(f"{notebook}: {qid} needs a key among {options} and feedback "
                                     "for every option")
                questions[qid] = {
                    "notebook": notebook, "kind": "choice", "options": list(options), "salt": salt,
                    "key": hash_answer(salt, qid, key),
                    "feedback": {o: encode_text(feedback[o], salt, f"{qid}:{o}") for o in options},
                }
            else:
                code = HIDDEN.sub(lambda m: m.group(1), cell.source)
                questions[qid] = {"notebook": notebook, "kind": "code", "salt": salt,
                                  "code": encode_text(code, salt, f"{qid}:code")}
        elif cell.cell_type == "markdown" and meta.get("grade") and meta.get("solution"):
            salt = _salt(notebook, gid, cell.source)
            text = re.sub(r"^\s*### (BEGIN|END) SOLUTION\s*$", "", cell.source, flags=re.M).strip()
            reflections[gid] = {"notebook": notebook, "salt": salt,
                                "text": encode_text(text, salt, f"{gid}:answer")}
    return questions, reflections


# ----------------------------------------------------------------------------- self-study edition
def self_study(release_nb, master_nb, notebook: str):
    """Turn nbgrader's student version into the self-study edition."""
    nb = copy.deepcopy(release_nb)
    answers = {nbgrader_meta(c).get("grade_id") for c in master_nb.cells
               if c.cell_type == "code" and nbgrader_meta(c).get("solution")}
    cells = []
    for cell in nb.cells:
        meta = nbgrader_meta(cell)
        gid = meta.get("grade_id", "")
        if cell.cell_type == "code" and meta.get("solution"):
            lines = [ln for ln in cell.source.splitlines() if ln.strip() not in STUB_LINES]
            cell.source = "\n".join(lines).rstrip()
        elif cell.cell_type == "code" and meta.get("grade"):
            qid = gid[len("test_"):]
            if qid not in answers:
                raise BuildError(f"{notebook}: test cell {gid!r} has no answer cell {qid!r}")
            cell.source = f'check("{qid}", {qid})'
        elif cell.cell_type == "markdown" and meta.get("solution"):
            cells.append(nbformat.v4.new_markdown_cell(
                "*Write your answer in the box below. It is saved as you type; once you have "
                "written something, you can compare it with a model answer.*"))
            cell = nbformat.v4.new_code_cell(f'reflect("{gid}")')
        cell.metadata = {}
        cells.append(cell)
    nb.cells = cells
    for i, cell in enumerate(nb.cells):  # stable, unique ids
        cell["id"] = f"{notebook[:20]}-{i:03d}"
    return clean_notebook(nb, keep_nbgrader=False)


# ----------------------------------------------------------------------------- nbgrader
def _nbgrader_generate(course: Path, assignment: str):
    """Run nbgrader's generate_assignment and generate_solution in this process (no CLI start-up)."""
    import logging

    from nbgrader.converters import GenerateAssignment, GenerateSolution, NbGraderException
    from nbgrader.coursedir import CourseDirectory

    # nbgrader shells out to alembic, which lives next to this interpreter
    bindir = str(Path(sys.executable).parent)
    if bindir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bindir + os.pathsep + os.environ.get("PATH", "")
    coursedir = CourseDirectory(root=str(course), solution_directory="solutions",
                                assignment_id=assignment)
    for converter in (GenerateAssignment, GenerateSolution):
        app = converter(coursedir=coursedir)
        captured = io.StringIO()
        handler = logging.StreamHandler(captured)
        handler.setLevel(logging.ERROR)
        app.log.addHandler(handler)
        app.force = True
        # generate_solution would execute the notebook here; the build executes it in place later
        app.preprocessors = [p for p in app.preprocessors if p.__name__ != "Execute"]
        try:
            app.start()
        except NbGraderException as exc:
            raise BuildError(f"nbgrader could not convert {assignment}:\n{captured.getvalue()}"
                             ) from exc
        finally:
            app.log.removeHandler(handler)


def execute(path: Path, timeout=300):
    """Execute a notebook in place, in its own folder, and keep it clean."""
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=timeout, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    write_notebook(clean_notebook(nb, keep_nbgrader=True, keep_outputs=True), path)


def build(root: Path = ROOT, out: Path | None = None, run_solutions=True, log=print) -> list[Path]:
    """Build every edition from the masters under ``root/source`` into ``out`` (default: ``root``)."""
    root = Path(root)
    out = Path(out) if out else root
    source = root / "source"
    found = list(masters(source))
    if not found:
        raise BuildError(f"no master notebooks in {source}/<assignment>/")
    written: list[Path] = []
    questions, reflections = {}, {}
    with tempfile.TemporaryDirectory(prefix="lmm-build-") as tmp:
        course = Path(tmp)
        shutil.copytree(source, course / "source", ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
        for assignment in sorted({a for a, _ in found}):
            log(f"nbgrader: {assignment}")
            _nbgrader_generate(course, assignment)
        for folder in ("release", "solutions", "notebooks"):
            target = out / folder
            if target.exists():
                for old in target.rglob("*.ipynb"):
                    old.unlink()
        for assignment, path in found:
            name = path.stem
            master = nbformat.read(path, as_version=4)
            table = points_table(master)
            q, r = bank_entries(master, name)
            clash = (set(q) & set(questions)) | (set(r) & set(reflections))
            if clash:
                raise BuildError(f"{path}: ids used in two notebooks: {sorted(clash)}")
            questions.update(q)
            reflections.update(r)
            rel = nbformat.read(course / "release" / assignment / path.name, as_version=4)
            sol = nbformat.read(course / "solutions" / assignment / path.name, as_version=4)
            targets = {
                out / "release" / assignment / path.name: clean_notebook(fill_points(rel, table)),
                out / "solutions" / assignment / path.name: clean_notebook(fill_points(sol, table)),
                out / "notebooks" / path.name: fill_points(self_study(rel, master, name), table),
            }
            for target, nb in targets.items():
                write_notebook(nb, target)
                written.append(target)
        bank = {"version": 1, "questions": dict(sorted(questions.items())),
                "reflections": dict(sorted(reflections.items()))}
        bank_path = out / BANK_NAME
        bank_path.parent.mkdir(parents=True, exist_ok=True)
        bank_path.write_text(json.dumps(bank, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        written.append(bank_path)
    if run_solutions:
        for target in written:
            if target.parent.parent.name == "solutions" and target.suffix == ".ipynb":
                log(f"executing {target.relative_to(out)}")
                execute(target)
    return written


# ----------------------------------------------------------------------------- sync check
def _comparable(path: Path, strip_outputs: bool) -> str:
    if path.suffix != ".ipynb":
        return path.read_text(encoding="utf-8")
    nb = nbformat.read(path, as_version=4)
    if strip_outputs:
        clean_notebook(nb, keep_nbgrader=True, keep_outputs=False)
    return nbformat.writes(nb)


def check_sync(root: Path = ROOT, log=print) -> list[str]:
    """Rebuild into a temporary folder and list every committed file that differs from the build."""
    root = Path(root)
    problems = []
    with tempfile.TemporaryDirectory(prefix="lmm-sync-") as tmp:
        fresh = Path(tmp)
        built = build(root, fresh, run_solutions=False, log=lambda *_: None)
        expected = {p.relative_to(fresh) for p in built}
        committed = {p.relative_to(root) for folder in ("release", "solutions", "notebooks")
                     for p in (root / folder).rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts}
        for rel in sorted(committed - expected):
            problems.append(f"{rel}: not produced by any master in source/ (delete it or add a master)")
        for rel in sorted(expected):
            mine, theirs = root / rel, fresh / rel
            if not mine.exists():
                problems.append(f"{rel}: missing (run `make build` and commit)")
                continue
            strip = rel.parts[0] == "solutions"
            if _comparable(mine, strip) != _comparable(theirs, strip):
                problems.append(f"{rel}: differs from a fresh build of its master "
                                "(edit the master in source/, then run `make build`)")
    for line in problems:
        log(f"OUT OF SYNC: {line}")
    return problems


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="compare instead of writing")
    parser.add_argument("--no-execute", action="store_true", help="do not execute the solutions")
    args = parser.parse_args(argv)
    try:
        if args.check:
            problems = check_sync()
            if problems:
                return 1
            print("in sync: release/, solutions/, notebooks/ and the feedback bank match source/")
            return 0
        for path in build(run_solutions=not args.no_execute):
            print(f"wrote {path.relative_to(ROOT)}")
    except BuildError as exc:
        print(f"build failed: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
