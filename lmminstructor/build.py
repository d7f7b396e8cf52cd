"""One-source build: every student- and instructor-facing notebook comes from the masters in ``source/``.

``python -m lmminstructor.build`` (``make build``) writes, from ``source/<assignment>/<notebook>.ipynb``:

* ``release/<assignment>/<notebook>.ipynb``: nbgrader's student version, exactly as
  ``nbgrader generate_assignment <assignment>`` writes it with the course's ``nbgrader_config.py``
  (cell locks included; the points table and estimated time are filled in by nbgrader itself, through
  the preprocessors that config registers, see :mod:`lmminstructor.preprocessors`);
* ``solutions/<assignment>/<notebook>.ipynb``: nbgrader's answer key (``generate_solution``), executed
  so that it shows its outputs, figures included;
* ``notebooks/<notebook>.ipynb``: the self-study edition: no solutions and no hidden tests, nbgrader
  stubs replaced by prompts, test cells replaced by instant feedback (``check("q1_2", q1_2)``),
  reflections by a text box; it runs top to bottom when nothing is answered;
* ``lmmcourse/feedback_bank.json``: the salted, encoded key bank behind ``check``.

``python -m lmminstructor.build --check`` (``make check-sync``) rebuilds into a temporary folder and exits
1, naming each file, when a committed file differs (solutions are compared without their outputs, which
carry run-time details such as widget ids).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import logging
import re
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import nbformat
from nbformat import NotebookNode

from lmmcourse.grading import encode_text, hash_answer

from .conventions import POINTS_MARKER, TIME_MARKER, ConventionError, Master, find_masters, unwrap
from .figures import missing_figures
from .paths import NBGRADER_CONFIG, ROOT, venv_on_path
from .preprocessors import NOTEBOOK_METADATA, clean_notebook, self_study

__all__ = ["BANK_NAME", "NOTEBOOK_METADATA", "BuildError", "bank_entries", "build", "check_sync",
           "execute", "main", "stable_outputs", "write_notebook"]

BANK_NAME = "lmmcourse/feedback_bank.json"
EDITIONS = ("release", "solutions", "notebooks")


class BuildError(RuntimeError):
    """A master breaks a convention the build relies on, or nbgrader could not convert it."""


def write_notebook(nb: NotebookNode, path: Path) -> None:
    """Validate ``nb`` and write it to ``path`` (folders created)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.validate(nb)
    path.write_text(nbformat.writes(nb) + "\n", encoding="utf-8")


# ----------------------------------------------------------------------------- feedback bank
def _salt(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:16]


def bank_entries(master: Master) -> tuple[dict, dict]:
    """Questions and reflections of one master, encoded for the self-study edition.

    Raises
    ------
    BuildError
        When the master breaks a convention (:meth:`Master.problems`).
    """
    problems = master.problems()
    if problems:
        raise BuildError("\n".join(problems))
    questions, reflections = {}, {}
    for q in master.questions:
        salt = _salt(master.name, q.answer_id, q.source)
        if q.kind == "choice":
            questions[q.answer_id] = {
                "notebook": master.name, "kind": "choice", "options": list(q.options), "salt": salt,
                "key": hash_answer(salt, q.answer_id, q.key),
                "feedback": {o: encode_text(q.feedback[o], salt, f"{q.answer_id}:{o}") for o in q.options},
            }
        else:
            code = unwrap(q.source)
            questions[q.answer_id] = {"notebook": master.name, "kind": "code", "salt": salt,
                                      "code": encode_text(code, salt, f"{q.answer_id}:code")}
    for r in master.reflections:
        salt = _salt(master.name, r.grade_id, r.source)
        reflections[r.grade_id] = {"notebook": master.name, "salt": salt,
                                   "text": encode_text(r.text, salt, f"{r.grade_id}:answer")}
    return questions, reflections


# ----------------------------------------------------------------------------- nbgrader
def _config_file(root: Path) -> Path:
    """The course's nbgrader config: ``root``'s own, else this repository's."""
    own = Path(root) / "nbgrader_config.py"
    return own if own.exists() else NBGRADER_CONFIG


def _nbgrader_generate(course: Path, assignment: str, config_file: Path) -> None:
    """nbgrader's generate_assignment and generate_solution, in this process, with the course's config."""
    from nbgrader.converters import GenerateAssignment, GenerateSolution, NbGraderException
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config.loader import PyFileConfigLoader

    venv_on_path()
    cfg = PyFileConfigLoader(config_file.name, path=str(config_file.parent)).load_config()
    cfg.CourseDirectory.root = str(course)
    for converter in (GenerateAssignment, GenerateSolution):
        coursedir = CourseDirectory(config=cfg)
        coursedir.assignment_id = assignment
        app = converter(coursedir=coursedir, config=cfg)
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
            raise BuildError(f"nbgrader could not convert {assignment}:\n{captured.getvalue()}") from exc
        finally:
            app.log.removeHandler(handler)


#: where a warning raised in a cell says it came from: ``/tmp/ipykernel_<pid>/<hash>.py`` (the pid
#: changes with every run)
_CELL_FILE = re.compile(r"\S*ipykernel_\d+[/\\]\d+\.py")


def stable_outputs(nb: NotebookNode) -> NotebookNode:
    """Make an executed notebook's outputs the same from run to run (in place; returns ``nb``).

    Consecutive stream outputs are merged (nbclient splits them where the kernel happened to flush),
    and the kernel's temporary file name in warnings becomes ``<cell>``.
    """
    from nbconvert.preprocessors import CoalesceStreamsPreprocessor

    CoalesceStreamsPreprocessor().preprocess(nb, {})
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream":
                output.text = _CELL_FILE.sub("<cell>", output.text)
    return nb


def execute(path: Path, timeout: int = 300) -> None:
    """Execute a notebook in place, in its own folder, and keep it clean (outputs and figures kept)."""
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=timeout, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    stable_outputs(nb)
    write_notebook(clean_notebook(nb, keep_nbgrader=True, keep_outputs=True), path)


def build(root: Path = ROOT, out: Path | None = None, run_solutions: bool = True,
          log: Callable[..., object] = print) -> list[Path]:
    """Build every edition from the masters under ``root/source`` into ``out`` (default: ``root``).

    nbgrader runs with ``root/nbgrader_config.py`` (this repository's when ``root`` has none). Returns the
    paths written.
    """
    root = Path(root)
    out = Path(out) if out else root
    source = root / "source"
    found = list(find_masters(source))
    if not found:
        raise BuildError(f"no master notebooks in {source}/<assignment>/")
    config_file = _config_file(root)
    written: list[Path] = []
    questions, reflections = {}, {}
    with tempfile.TemporaryDirectory(prefix="lmm-build-") as tmp:
        course = Path(tmp)
        shutil.copytree(source, course / "source", ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
        for assignment in sorted({a for a, _ in found}):
            log(f"nbgrader: {assignment}")
            _nbgrader_generate(course, assignment, config_file)
        for folder in EDITIONS:
            target = out / folder
            if target.exists():
                for old in target.rglob("*.ipynb"):
                    old.unlink()
        for assignment, path in found:
            master = Master.load(path)
            q, r = bank_entries(master)
            clash = (set(q) & set(questions)) | (set(r) & set(reflections))
            if clash:
                raise BuildError(f"{path}: ids used in two notebooks: {sorted(clash)}")
            questions.update(q)
            reflections.update(r)
            released = course / "release" / assignment / path.name
            text = released.read_text(encoding="utf-8")
            if POINTS_MARKER in text or TIME_MARKER in text:
                raise BuildError(
                    f"{config_file} does not register the lesson's preprocessors, so nbgrader left the "
                    "points/time markers unfilled: add `c.GenerateAssignment.preprocessors = "
                    "lesson_preprocessors(GenerateAssignment)` (see this repository's nbgrader_config.py)")
            rel = nbformat.reads(text, as_version=4)
            sol = nbformat.read(course / "solutions" / assignment / path.name, as_version=4)
            try:
                study = self_study(rel, master.name)
            except ConventionError as exc:
                raise BuildError(f"{master.name}: {exc}") from exc
            # the release is nbgrader's file itself, byte for byte (locks and checksums included)
            target = out / "release" / assignment / path.name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(released, target)
            written.append(target)
            for target, nb in {out / "solutions" / assignment / path.name: clean_notebook(sol),
                               out / "notebooks" / path.name: study}.items():
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
                missing = missing_figures(nbformat.read(target, as_version=4))
                if missing:
                    raise BuildError(
                        f"{target.relative_to(out)}: plotting cells without a figure: {', '.join(missing)}. "
                        "The kernel did not use the inline backend: unset MPLBACKEND (or any matplotlib "
                        "backend setting) in the environment that runs `make build`.")
    return written


# ----------------------------------------------------------------------------- sync check
def _comparable(path: Path, edition: str) -> str:
    """The text to compare: releases byte for byte, other notebooks as nbformat writes them (solutions
    without their outputs)."""
    if path.suffix != ".ipynb" or edition == "release":
        return path.read_text(encoding="utf-8")
    nb = nbformat.read(path, as_version=4)
    if edition == "solutions":
        clean_notebook(nb, keep_nbgrader=True, keep_outputs=False)
    return nbformat.writes(nb)


def check_sync(root: Path = ROOT, log: Callable[..., object] = print) -> list[str]:
    """Rebuild into a temporary folder and list every committed file that differs from the build."""
    root = Path(root)
    problems = []
    with tempfile.TemporaryDirectory(prefix="lmm-sync-") as tmp:
        fresh = Path(tmp)
        built = build(root, fresh, run_solutions=False, log=lambda *_: None)
        expected = {p.relative_to(fresh) for p in built}
        committed = {p.relative_to(root) for folder in EDITIONS
                     for p in (root / folder).rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts}
        for rel in sorted(committed - expected):
            problems.append(f"{rel}: not produced by any master in source/ (delete it or add a master)")
        for rel in sorted(expected):
            mine, theirs = root / rel, fresh / rel
            if not mine.exists():
                problems.append(f"{rel}: missing (run `make build` and commit)")
                continue
            if _comparable(mine, rel.parts[0]) != _comparable(theirs, rel.parts[0]):
                problems.append(f"{rel}: differs from a fresh build of its master "
                                "(edit the master in source/, then run `make build`)")
    for line in problems:
        log(f"OUT OF SYNC: {line}")
    return problems


def main(argv: list[str] | None = None) -> int:
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
