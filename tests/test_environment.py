"""Binder's environment.yml repeats pyproject.toml's pins; the README's Binder link opens a notebook."""

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _pyproject_pins():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pins = {}
    for req in project["dependencies"]:
        name, version = req.split("==")
        pins[name.strip().lower()] = version.strip()
    return pins


def _environment_pins():
    pins = {}
    for line in (ROOT / "environment.yml").read_text().splitlines():
        match = re.match(r"^\s*-\s*([A-Za-z0-9_.-]+)==([^\s#]+)", line)
        if match:
            pins[match.group(1).lower()] = match.group(2)
    return pins


def test_every_dependency_is_pinned_exactly():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    for req in project["dependencies"] + project["optional-dependencies"]["test"]:
        assert re.fullmatch(r"[A-Za-z0-9_.-]+==[0-9][0-9A-Za-z.]*", req), req


def test_environment_yml_matches_pyproject():
    assert _environment_pins() == _pyproject_pins()


def test_environment_yml_uses_python_311_and_installs_package():
    text = (ROOT / "environment.yml").read_text()
    assert re.search(r"^\s*-\s*python=3\.11\s*$", text, re.M)
    post = (ROOT / "postBuild").read_text()
    assert "pip install" in post and "-e ." in post


def test_readme_binder_badge_opens_first_section():
    readme = (ROOT / "README.md").read_text()
    match = re.search(r"mybinder\.org/v2/gh/[^)\s]+urlpath=([^)\s&]+)", readme)
    assert match, "README needs a Binder badge with a urlpath"
    target = match.group(1).replace("%2F", "/")
    assert target.startswith("lab/tree/"), target
    assert (ROOT / target.removeprefix("lab/tree/")).is_file(), target


def test_readme_names_the_two_commands():
    readme = (ROOT / "README.md").read_text()
    assert "make lab" in readme and "make test" in readme


def test_every_subpackage_is_packaged():
    """A non-editable install (a wheel, pip install git+...) must ship lmmcourse.stats too."""
    import fnmatch

    include = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"][
        "find"]["include"]
    packages = [".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "lmmcourse").rglob("__init__.py")]
    assert "lmmcourse.stats" in packages
    for name in packages:
        assert any(fnmatch.fnmatch(name, pattern) for pattern in include), name
