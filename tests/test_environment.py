"""The environments a student meets agree with each other and with the README.

Binder's environment.yml repeats pyproject.toml's pins; the README, pyproject.toml and the Makefile
agree on the supported Python versions; the classroom JupyterLab defaults are valid JupyterLab settings
and are installed by both ``make setup`` and Binder's ``postBuild``; nothing forces a Matplotlib
backend on the kernels a student runs (the Makefile, Binder files and the browser test harness).
"""

import json
import re
import sys
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


def _supported_versions() -> list[tuple[int, int]]:
    """The Python versions pyproject.toml's classifiers name (Programming Language :: Python :: 3.x)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    found = [re.fullmatch(r"Programming Language :: Python :: (\d+)\.(\d+)", c)
             for c in project.get("classifiers", [])]
    return sorted((int(m.group(1)), int(m.group(2))) for m in found if m)


def test_supported_pythons_agree_in_pyproject_readme_and_makefile():
    from packaging.specifiers import SpecifierSet

    versions = _supported_versions()
    assert versions == [(3, 11), (3, 12), (3, 13)], versions
    spec = SpecifierSet(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"])
    for major, minor in versions:  # every supported version installs ...
        assert f"{major}.{minor}.0" in spec, (spec, major, minor)
    assert "3.10.99" not in spec  # ... and older ones are refused
    readme = (ROOT / "README.md").read_text()
    stated = re.search(r"Python (3\.\d+), (3\.\d+) or (3\.\d+)", readme)
    assert stated, "README must state the supported versions as 'Python 3.x, 3.y or 3.z'"
    assert [tuple(map(int, v.split("."))) for v in stated.groups()] == versions
    makefile = (ROOT / "Makefile").read_text()
    assert "sys.version_info >= (3, 11)" in makefile
    for major, minor in versions:
        assert f"python{major}.{minor}" in makefile


def test_environment_yml_uses_a_supported_python_and_installs_package():
    text = (ROOT / "environment.yml").read_text()
    match = re.search(r"^\s*-\s*python=(\d+)\.(\d+)\s*$", text, re.M)
    assert match and (int(match.group(1)), int(match.group(2))) in _supported_versions()
    post = (ROOT / "postBuild").read_text()
    assert "pip install" in post and "-e ." in post


def test_readme_tells_how_to_start_without_make():
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("Without `make`"):]
    assert "-m venv .venv" in section and "pip install -e ." in section
    assert "jupyter lab notebooks/section1_linear_mixed_model.ipynb" in section
    assert (ROOT / "notebooks" / "section1_linear_mixed_model.ipynb").is_file()


OVERRIDES = ROOT / "lmmcourse" / "jupyterlab_overrides.json"


def test_classroom_lab_defaults_are_valid_jupyterlab_settings():
    """Only the news question and the update check are switched off; both are real settings.

    Checked against the schema JupyterLab itself ships (in this environment), not a copy.
    """
    import jupyterlab

    overrides = json.loads(OVERRIDES.read_text(encoding="utf-8"))
    assert overrides == {"@jupyterlab/apputils-extension:notification": {"fetchNews": "false",
                                                                         "checkForUpdates": False}}
    schemas = Path(sys.prefix) / "share" / "jupyter" / "lab" / "schemas"
    assert Path(jupyterlab.__file__).is_file() and schemas.is_dir(), schemas
    for plugin, values in overrides.items():
        package, name = plugin.split(":")
        schema = json.loads((schemas / package / f"{name}.json").read_text(encoding="utf-8"))
        for key, value in values.items():
            prop = schema["properties"][key]
            allowed = [o["const"] for o in prop["oneOf"]] if "oneOf" in prop else None
            assert (value in allowed) if allowed else isinstance(value, bool), (key, value, prop)


def test_classroom_lab_defaults_are_installed_by_make_and_binder():
    target = "share/jupyter/lab/settings/overrides.d"
    makefile = (ROOT / "Makefile").read_text()
    assert f"$(VENV)/{target}/lmmcourse.json" in makefile
    assert "lmmcourse/jupyterlab_overrides.json" in makefile
    post = (ROOT / "postBuild").read_text()
    assert target in post and "lmmcourse/jupyterlab_overrides.json" in post


def test_nothing_forces_a_matplotlib_backend_on_students_kernels():
    for name in ("Makefile", "postBuild", "environment.yml", ".ci/run", "tests/support/browser.py",
                 "tests/browser/conftest.py"):
        text = (ROOT / name).read_text()
        assert "MPLBACKEND" not in text, f"{name} sets or removes MPLBACKEND"
    harness = (ROOT / "tests" / "support" / "browser.py").read_text()
    assert "os.environ[" not in harness and "env=" not in harness.replace("env=None", ""), \
        "the browser harness must start `make lab` with the caller's environment as it is"


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
