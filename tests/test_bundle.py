"""Student bundle: the right files, none of the instructor's, no leaked answers, and a working package."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from lmminstructor import build, bundle

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = Path(__file__).parent / "fixtures" / "course"
EXPECTED = ["README.md", "Makefile", ".gitignore", "pyproject.toml", "environment.yml", "postBuild",
            "notebooks/demo.ipynb", "release/demo/demo.ipynb", "data", "lmmcourse/__init__.py",
            "lmmcourse/grading.py", "lmmcourse/data/__init__.py", "lmmcourse/stats/__init__.py",
            "lmmcourse/feedback_bank.json", "lmmcourse/glossary.json"]
ABSENT = ["source", "solutions", "tests", "tools", "benchmarks", "gradebook.db", "nbgrader_config.py",
          "lmminstructor"]


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """A complete instructor repository made from the fixture course and this package (no execution)."""
    root = tmp_path_factory.mktemp("repo")
    shutil.copytree(FIXTURE / "source", root / "source")
    shutil.copytree(ROOT / "lmmcourse", root / "lmmcourse",
                    ignore=shutil.ignore_patterns("__pycache__", "feedback_bank.json"))
    shutil.copytree(ROOT / "lmminstructor", root / "lmminstructor",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "data", root / "data")
    for name in ("pyproject.toml", "environment.yml", "postBuild", "nbgrader_config.py"):
        shutil.copy2(ROOT / name, root / name)
    for name in ("tests", "tools", "solutions"):
        (root / name).mkdir(exist_ok=True)
        (root / name / "secret.txt").write_text("INSTRUCTORS-ONLY-7f3a\n", encoding="utf-8")
    (root / "gradebook.db").write_bytes(b"SQLite format 3\x00")
    build.build(root, run_solutions=False, log=lambda *_: None)
    return root


@pytest.fixture(scope="module")
def written(course, tmp_path_factory):
    out = tmp_path_factory.mktemp("bundle") / "student"
    found = bundle.write_bundle(out, root=course, binder_repo="example-org/lmm-student",
                                log=lambda *_: None)
    return out, found


def test_bundle_has_what_students_need(written):
    out, _ = written
    missing = [p for p in EXPECTED if not (out / p).exists()]
    assert missing == []
    assert any((out / "data").glob("*.csv"))


def test_bundle_lacks_instructor_material(written):
    out, _ = written
    assert [p for p in ABSENT if (out / p).exists()] == []
    assert not list(out.rglob("__pycache__"))
    assert "INSTRUCTORS-ONLY-7f3a" not in "".join(
        p.read_text(encoding="utf-8", errors="ignore") for p in out.rglob("*") if p.is_file())


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*")
            if p.is_file() and "__pycache__" not in p.parts}


def test_bundle_package_is_the_repository_package(course, written):
    """No deny-list: the student package is copied whole, and holds no instructor tool."""
    out, _ = written
    assert _files(out / "lmmcourse") == _files(course / "lmmcourse")
    tools = ("build", "bundle", "leaks", "autograde", "_browser")
    assert not any(name.startswith(tools) for name in _files(out / "lmmcourse"))


def test_bundle_passes_the_leak_scan(written):
    _, found = written
    assert found == []


def test_readme_points_binder_at_the_bundle_repository(written):
    out, _ = written
    readme = (out / "README.md").read_text(encoding="utf-8")
    assert ("https://mybinder.org/v2/gh/example-org/lmm-student/main"
            "?urlpath=lab/tree/notebooks/demo.ipynb") in readme
    # 42 words at 130 wpm + 1 code cell + 1 question + 1 activity + 1 reflection = 9.3 min -> 10
    # (hand-counted in tests/test_timing.py)
    assert "| 1 | `demo.ipynb` | Demo section | 10 min |" in readme
    assert "make lab" in (out / "README.md").read_text(encoding="utf-8")
    makefile = (out / "Makefile").read_text(encoding="utf-8")
    assert "lab: setup" in makefile and "notebooks/demo.ipynb" in makefile
    assert "\n\t" in makefile  # recipes need tabs


def test_package_imports_from_the_bundle(written):
    out, _ = written
    code = ("import lmmcourse, lmmcourse.grading as g, lmmcourse.data as d;"
            "print(lmmcourse.__file__); print(len(g.load_bank()['questions']));"
            "print(len(d.load_clinics()))")
    env = {k: v for k, v in os.environ.items() if k != "LMMCOURSE_DATA"}
    env["PYTHONPATH"] = str(out)
    proc = subprocess.run([sys.executable, "-c", code], cwd=out, env=env, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    first, n_questions, n_rows = proc.stdout.split()
    assert Path(first).resolve() == (out / "lmmcourse" / "__init__.py").resolve()
    assert int(n_questions) == 2  # q9_1 and mean_demo in the fixture master
    assert int(n_rows) > 0


def test_a_planted_leak_fails_the_bundle(course, tmp_path, capsys):
    leaky = tmp_path / "repo"
    shutil.copytree(course, leaky)
    nb_path = leaky / "notebooks" / "demo.ipynb"
    nb = nbformat.read(nb_path, as_version=4)
    nb.cells.append(nbformat.v4.new_markdown_cell("Psst: SECRET-FEEDBACK-A first letter."))
    nb_path.write_text(nbformat.writes(nb), encoding="utf-8")
    found = bundle.write_bundle(tmp_path / "out", root=leaky, log=lambda *_: None)
    assert [(f.path, f.kind) for f in found] == [("notebooks/demo.ipynb", "feedback")]
    assert bundle.main(["--out", str(tmp_path / "out2"), "--root", str(leaky)]) == 1
    assert "LEAK: notebooks/demo.ipynb: feedback" in capsys.readouterr().out


def test_refuses_without_a_build(tmp_path):
    (tmp_path / "notebooks").mkdir()
    with pytest.raises(bundle.BundleError, match="make build"):
        bundle.write_bundle(tmp_path / "out", root=tmp_path, log=lambda *_: None)
    with pytest.raises(bundle.BundleError, match="empty folder"):
        bundle.write_bundle(tmp_path, root=tmp_path, log=lambda *_: None)


@pytest.mark.skipif(not any((ROOT / "notebooks").glob("*.ipynb")), reason="run `make build` first")
def test_real_bundle_is_clean(tmp_path):
    found = bundle.write_bundle(tmp_path / "student", log=lambda *_: None)
    assert found == [], "\n".join(map(str, found))
    names = sorted(p.name for p in (tmp_path / "student" / "notebooks").glob("*.ipynb"))
    assert names == sorted(p.name for p in (ROOT / "notebooks").glob("*.ipynb"))
    readme = (tmp_path / "student" / "README.md").read_text(encoding="utf-8")
    table = [ln for ln in readme.splitlines() if ln.startswith(("| 1 |", f"| {len(names)} |"))]
    assert "section1" in table[0] and "final" in table[-1]
