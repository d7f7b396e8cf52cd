"""A real JupyterHub, real Unix users and nbgrader's file-system exchange, driven in headless Chromium.

The path an instructor really uses, end to end: the instructor releases ``section1``; two students log in
to the hub, fetch it from the Assignments tab (nbgrader's assignment list), answer (one right, one
blank) and submit; the instructor collects and runs ``make grade``, then generates and releases
feedback; each student fetches the feedback and reads their score in it.

What is real: JupyterHub (PyPI) with configurable-http-proxy (npm, ``make hub-tools``), its dummy
authenticator (one password), the local process spawner starting each single-user server as its own
Unix user (created here as root, with a private home, and removed afterwards), nbgrader's file-system
exchange in a temporary folder, and Debian's Chromium through Playwright. The single-user servers run
the **student bundle's** environment: a virtual environment that sees the bundle's ``lmmcourse`` and the
pinned packages, but not the instructors' ``lmminstructor`` (checked). The right answers are the
masters' solutions, written into the fetched notebook from the student's browser session (the Jupyter
contents API, as JupyterLab's save does). The instructor's commands run as the instructor's Unix user.

Expected scores come from the nbgrader metadata of the master (the autograded points, and 0 for the
blank submission), never from the code under test.

Runs only as root (it creates users); skipped elsewhere, and fails on CI if anything it needs is missing.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest
from support.browser import CHROMIUM, CHROMIUM_ARGS, free_port, playwright_driver

from lmminstructor import autograde_demo as ag

pytestmark = [pytest.mark.hub, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
VENV = VENV_BIN.parent
CHP = VENV / "node" / "node_modules" / ".bin" / "configurable-http-proxy"
ASSIGNMENT = "section1"
COURSE_ID = "lmm-continuous"
PASSWORD = "lmm-" + secrets.token_hex(8)
TIMEOUT_MS = 240_000  # the hub shares 2 cores with the rest of the suite
#: The interpreter the project's venv is built on.
BASE_PYTHON = Path(getattr(sys, "_base_executable", sys.executable)).resolve()


def _missing() -> str | None:
    if os.geteuid() != 0:
        return "the hub test creates Unix users: run it as root (CI does)"
    if not CHROMIUM.is_file():
        return f"Chromium not found at {CHROMIUM}: apt-get install -y chromium"
    if not CHP.exists():
        return f"configurable-http-proxy not found at {CHP}: run `make hub-tools` (npm)"
    for module in ("jupyterhub", "playwright.sync_api"):
        try:
            __import__(module)
        except ImportError:
            return f"{module} is not installed: pip install -e '.[test]' (make setup)"
    if shutil.which("useradd") is None or shutil.which("runuser") is None:
        return "useradd/runuser not found (package passwd / util-linux)"
    return None


@pytest.fixture(scope="module")
def hub_ready():
    reason = _missing()
    if reason:
        if os.environ.get("CI"):
            pytest.fail(f"hub test cannot run on CI: {reason}")
        pytest.skip(reason)


# ----------------------------------------------------------------------------- set-up helpers
def _run(cmd: list[str], user: str | None = None, cwd: Path | None = None, env: dict | None = None,
         check: bool = True, timeout: float = 900) -> subprocess.CompletedProcess:
    if user:
        cwd = cwd or Path(f"/home/{user}")
        # a login-like environment: the user's HOME, no root variables leaking in
        base = ["runuser", "-u", user, "--", "env", "-i", f"HOME=/home/{user}", f"USER={user}",
                "LANG=C.UTF-8", "PYTHONDONTWRITEBYTECODE=1"]
        base += [f"{k}={v}" for k, v in (env or {}).items()]
        cmd = base + cmd
        env = None
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


def _world_usable(path: Path) -> bool:
    """Can every user reach ``path`` (each parent folder searchable by others)?"""
    return all(p.stat().st_mode & 0o001 for p in path.parents)


def _users_python(base: Path) -> tuple[Path, dict[str, str]]:
    """The venv's interpreter as every Unix user can run it, and the environment it needs.

    The project's venv may be built on an interpreter in root's home (pyenv: ``/root`` is private);
    then the interpreter (without its site-packages) is copied into ``base`` and run with
    ``LD_LIBRARY_PATH`` pointing at the copy's ``libpython``. (Debian's own Python of the same minor
    version is no substitute: 3.11.2's ``re`` cannot compile a selector nbconvert's HTML export uses.)
    """
    if _world_usable(BASE_PYTHON):
        return BASE_PYTHON, {}
    prefix = BASE_PYTHON.parents[1]
    copy = base / "python"
    shutil.copytree(prefix, copy, symlinks=True,
                    ignore=shutil.ignore_patterns("site-packages", "test", "tests", "idlelib", "turtledemo"))
    return copy / "bin" / BASE_PYTHON.name, {"LD_LIBRARY_PATH": str(copy / "lib")}


def _venv(where: Path, python: Path, env: dict[str, str], paths: list[Path],
          scripts: dict[str, str]) -> Path:
    """A venv on ``python`` that sees ``paths`` and the project venv's packages.

    The project venv's site-packages is added as a plain path, so its ``.pth`` files (the editable
    install of the instructors' repository) are not processed. ``scripts``: name -> module, for
    ``bin/<name>``.
    """
    subprocess.run([str(python), "-m", "venv", "--without-pip", str(where)], check=True,
                   env={**os.environ, **env})
    purelib = Path(sysconfig.get_paths(vars={"base": str(where), "platbase": str(where)})["purelib"])
    lines = [str(p) for p in paths] + [sysconfig.get_paths()["purelib"]]
    (purelib / "lmm-hub-test.pth").write_text("\n".join(lines) + "\n", encoding="utf-8")
    for name, module in scripts.items():
        script = where / "bin" / name
        script.write_text(f'#!/bin/sh\nexec {where / "bin" / "python"} -m {module} "$@"\n', encoding="utf-8")
        script.chmod(0o755)
    return where / "bin" / "python"


def _singleuser_env(base: Path, student_bin: Path, py_env: dict[str, str]) -> dict[str, str]:
    return {
        **py_env,
        "PATH": f"{student_bin}:/usr/local/bin:/usr/bin:/bin",
        # the lab's static files, the nbgrader lab extension and server-extension switches of the venv
        "JUPYTERLAB_DIR": str(VENV / "share" / "jupyter" / "lab"),
        "JUPYTER_PATH": str(VENV / "share" / "jupyter"),
        "JUPYTER_CONFIG_PATH": f"{base / 'etc-jupyter'}:{VENV / 'etc' / 'jupyter'}",
    }


def _hub_config(base: Path, port: int, student_python: Path, py_env: dict[str, str], users: list[str],
                admin: str) -> Path:
    hub = base / "hub"
    hub.mkdir()
    env = _singleuser_env(base, student_python.parent, py_env)
    text = f"""
c = get_config()  # noqa
c.JupyterHub.bind_url = "http://127.0.0.1:{port}"
c.JupyterHub.hub_bind_url = "http://127.0.0.1:{free_port()}"
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{free_port()}"
c.ConfigurableHTTPProxy.command = [{str(CHP)!r}]
c.JupyterHub.db_url = "sqlite:///{hub / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = {str(hub / 'cookie_secret')!r}
c.JupyterHub.pid_file = {str(hub / 'jupyterhub.pid')!r}
c.JupyterHub.authenticator_class = "dummy"
c.DummyAuthenticator.password = {PASSWORD!r}
c.Authenticator.allowed_users = set({users!r})
c.Authenticator.admin_users = {{{admin!r}}}
c.JupyterHub.spawner_class = "localprocess"
c.Spawner.cmd = [{str(student_python)!r}, "-m", "jupyterhub.singleuser"]
c.Spawner.default_url = "/lab"
c.Spawner.environment = {env!r}
c.Spawner.start_timeout = 240
c.Spawner.http_timeout = 240
c.JupyterHub.cleanup_servers = True
"""
    (hub / "jupyterhub_config.py").write_text(text, encoding="utf-8")
    return hub


def _wait_http(url: str, proc: subprocess.Popen, log: Path, timeout: float = 180) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise AssertionError(f"JupyterHub exited ({proc.returncode}):\n{log.read_text()[-4000:]}")
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(1)
    raise AssertionError(f"JupyterHub did not answer {url} in {timeout} s:\n{log.read_text()[-4000:]}")


@pytest.fixture(scope="module")
def hub(hub_ready, tmp_path_factory):
    """Users, course, exchange, student environment and a running hub; everything removed afterwards."""
    tag = secrets.token_hex(3)
    inst, alice, bob = f"lmmi{tag}", f"lmma{tag}", f"lmmb{tag}"
    base = Path(tempfile.mkdtemp(prefix="lmm-hub-", dir="/tmp"))
    base.chmod(0o755)  # the users need the student environment and the exchange
    created, proc = [], None
    try:
        for user in (inst, alice, bob):
            _run(["useradd", "--create-home", "--shell", "/bin/bash", "-K", "HOME_MODE=0700", user])
            created.append(user)
        # the student bundle and its environment
        from lmminstructor.bundle import write_bundle

        bundle = base / "student-bundle"
        write_bundle(bundle, REPO, log=lambda *_: None)
        python, py_env = _users_python(base)
        student_python = _venv(base / "student-env", python, py_env, [bundle], {})
        # the instructor's environment: the repository (lmminstructor) and the same packages
        inst_python = _venv(base / "instructor-env", python, py_env, [REPO],
                            {"nbgrader": "nbgrader", "alembic": "alembic"})
        # the exchange and the nbgrader configuration every user reads
        exchange = base / "exchange"
        exchange.mkdir(mode=0o777)
        exchange.chmod(0o777)
        (base / "etc-jupyter").mkdir()
        (base / "etc-jupyter" / "nbgrader_config.py").write_text(
            f"c = get_config()  # noqa\nc.CourseDirectory.course_id = {COURSE_ID!r}\n"
            f"c.Exchange.root = {str(exchange)!r}\n", encoding="utf-8")
        # the instructor's course directory: the repository's course files, in the instructor's home
        course = Path(f"/home/{inst}/course")
        course.mkdir()
        for name in ("source", "release", "data"):
            shutil.copytree(REPO / name, course / name, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
        shutil.copy(REPO / "nbgrader_config.py", course / "nbgrader_config.py")
        _run(["chown", "-R", f"{inst}:{inst}", str(course)])
        port = free_port()
        hubdir = _hub_config(base, port, student_python, py_env, [inst, alice, bob], inst)
        log = hubdir / "jupyterhub.log"
        env = {"PATH": f"{VENV_BIN}:/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8",
               "HOME": str(hubdir)}
        with open(log, "w") as fh:
            proc = subprocess.Popen([str(VENV_BIN / "jupyterhub"), "-f",
                                     str(hubdir / "jupyterhub_config.py")],
                                    cwd=hubdir, env=env, stdout=fh, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        _wait_http(f"{url}/hub/health", proc, log)
        instructor_env = {**py_env, "PATH": f"{inst_python.parent}:/usr/local/bin:/usr/bin:/bin",
                          "JUPYTER_CONFIG_PATH": str(base / "etc-jupyter"),
                          "JUPYTER_PATH": str(VENV / "share" / "jupyter")}  # nbconvert's templates
        yield {"url": url, "inst": inst, "alice": alice, "bob": bob, "course": course, "base": base,
               "exchange": exchange, "student_python": student_python, "log": log,
               "inst_env": instructor_env, "inst_bin": inst_python.parent, "py_env": py_env}
    finally:
        if proc is not None:
            proc.terminate()  # stops the single-user servers too (cleanup_servers)
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()
            artifacts = REPO / "artifacts"
            artifacts.mkdir(exist_ok=True)
            with open(base / "hub" / "jupyterhub.log", "rb") as src:
                (artifacts / "jupyterhub.log").write_bytes(src.read())
        for user in created:
            subprocess.run(["userdel", "--force", "--remove", user], capture_output=True)
        shutil.rmtree(base, ignore_errors=True)


# ----------------------------------------------------------------------------- browser helpers
def _login(browser, hub: dict, user: str):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(60_000)
    page.goto(f"{hub['url']}/hub/login")
    page.fill("#username_input", user)
    page.fill("#password_input", PASSWORD)
    page.click("#login_submit")
    page.wait_for_url(f"**/user/{user}/lab**", timeout=TIMEOUT_MS)
    page.wait_for_selector("#jp-main-dock-panel", timeout=TIMEOUT_MS)
    return context, page


def _assignments_tab(page):
    """Nbgrader > Assignment List: nbgrader's own lab extension for students."""
    page.locator(".lm-MenuBar-itemLabel", has_text="Nbgrader").click()
    page.locator(".lm-Menu-itemLabel", has_text="Assignment List").click()
    page.wait_for_selector("#released_assignments_list", timeout=TIMEOUT_MS)


def _contents(page, user: str, path: str, method: str = "GET", body: dict | None = None) -> tuple[int, str]:
    """A Jupyter contents-API request from the page (the session's cookies and XSRF token)."""
    return tuple(page.evaluate(
        """async ([url, method, body]) => {
            const x = document.cookie.split('; ').find(c => c.startsWith('_xsrf='));
            const headers = {'Content-Type': 'application/json'};
            if (x) headers['X-XSRFToken'] = decodeURIComponent(x.slice(6));
            const r = await fetch(url, {method, headers, body: body ? JSON.stringify(body) : undefined});
            return [r.status, await r.text()];
        }""", [f"/user/{user}/api/contents/{path}", method, body]))


def _fetch(page):
    _assignments_tab(page)
    released = page.locator("#released_assignments_list")
    released.locator(".list_item", has_text=ASSIGNMENT).get_by_role("button", name="Fetch").click()
    page.locator("#fetched_assignments_list").get_by_text(ASSIGNMENT).first.wait_for(timeout=TIMEOUT_MS)


def _submit(page):
    fetched = page.locator("#fetched_assignments_list")
    fetched.get_by_role("button", name="Submit").first.click()
    page.locator("#submitted_assignments_list .list_item").first.wait_for(timeout=TIMEOUT_MS)


def _feedback_score(page, user: str, notebook: str) -> str:
    """Fetch Feedback in the assignment list, open the feedback page, return its score line."""
    page.click("#refresh_assignments_list")
    button = page.locator("#submitted_assignments_list").get_by_role("button", name="Fetch Feedback")
    button.first.click()
    page.locator("#submitted_assignments_list").get_by_text("(view feedback)").first.wait_for(
        timeout=TIMEOUT_MS)
    status, text = _contents(page, user, f"{ASSIGNMENT}/feedback")
    assert status == 200, text
    stamps = [c["name"] for c in json.loads(text)["content"] if c["type"] == "directory"]
    assert len(stamps) == 1, stamps
    html = f"/user/{user}/files/{ASSIGNMENT}/feedback/{stamps[0]}/{Path(notebook).stem}.html"
    page.goto(page.url.split("/user/")[0] + html)
    heading = page.locator("h4", has_text="Score:").first.inner_text()
    return heading


# ----------------------------------------------------------------------------- the test
def test_release_fetch_submit_collect_grade_feedback(hub):
    inst, alice, bob, course = hub["inst"], hub["alice"], hub["bob"], hub["course"]
    key = ag.analyse_master(next((course / "source" / ASSIGNMENT).glob("*.ipynb")))
    notebook = key.notebook

    # the student environment is the bundle's: lmmcourse from the bundle, no instructor tools
    probe = _run([str(hub["student_python"]), "-c", "import lmmcourse, importlib.util as u; "
                  "print(lmmcourse.__file__); print(u.find_spec('lmminstructor'))"], user=alice,
                 env=hub["py_env"])
    assert str(hub["base"] / "student-bundle") in probe.stdout and "None" in probe.stdout

    # instructor: record the assignment in the gradebook and release it to the exchange
    env = hub["inst_env"]
    _run(["nbgrader", "generate_assignment", ASSIGNMENT, "--force"], user=inst, cwd=course, env=env)
    _run(["nbgrader", "release_assignment", ASSIGNMENT], user=inst, cwd=course, env=env)
    answered = ag.perfect_notebook(course, key)  # the master's solutions in the released notebook

    with playwright_driver() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            pages = {}
            for user in (alice, bob):
                context, page = _login(browser, hub, user)
                pages[user] = page
                _fetch(page)
                status, _ = _contents(page, user, f"{ASSIGNMENT}/{notebook}")
                assert status == 200, f"{user} has no fetched {notebook}"
            # alice answers every question (bob submits the notebook as fetched)
            status, text = _contents(pages[alice], alice, f"{ASSIGNMENT}/{notebook}", "PUT",
                                     {"type": "notebook", "format": "json", "content": answered})
            assert status in (200, 201), text
            for user in (alice, bob):
                _submit(pages[user])

            # bob cannot reach alice's server through the hub
            status, text = _contents(pages[bob], alice, f"{ASSIGNMENT}/{notebook}")
            assert status != 200 and notebook not in text

            # instructor: collect, grade in parallel with make grade, feedback
            _run(["nbgrader", "collect", ASSIGNMENT], user=inst, cwd=course, env=env)
            assert sorted(p.name for p in (course / "submitted").iterdir()) == sorted([alice, bob])
            graded = _run(["make", "--no-print-directory", "-C", str(REPO), "-o", "setup", "grade",
                           f"BIN={hub['inst_bin']}", f"ASSIGNMENT={ASSIGNMENT}", "JOBS=2",
                           f"GRADE_ARGS=--course {course}"],
                          user=inst, env=env)
            assert "2 graded" in graded.stdout, graded.stdout + graded.stderr
            _run(["nbgrader", "generate_feedback", ASSIGNMENT], user=inst, cwd=course, env=env)
            _run(["nbgrader", "release_feedback", ASSIGNMENT], user=inst, cwd=course, env=env)

            # the scores, from the master's metadata: all autograded points for alice, none for bob
            total = key.auto_points + key.manual_points
            expected = {alice: key.auto_points, bob: 0.0}
            table = {line.split()[0]: line.split() for line in graded.stdout.splitlines()
                     if line.split() and line.split()[0] in expected}
            for user, points in expected.items():
                assert float(table[user][1]) == points, graded.stdout
                heading = _feedback_score(pages[user], user, notebook)
                match = re.search(r"Score: ([\d.]+) / ([\d.]+)", heading)
                assert match, heading
                assert float(match.group(1)) == pytest.approx(points)
                assert float(match.group(2)) == pytest.approx(total)
        finally:
            browser.close()

    # nobody reads what is not theirs
    inbound = hub["exchange"] / COURSE_ID / "inbound"
    theirs = [p for p in inbound.iterdir() if p.name.startswith(alice + "+")]
    assert len(theirs) == 1
    # nbgrader names each submission <student>+<assignment>+<timestamp>+<random>: without the right to
    # list the inbound folder another student cannot find it
    assert len(theirs[0].name.split("+")) == 4 and len(theirs[0].name.split("+")[3]) >= 8
    denied = [
        ["ls", str(inbound)],  # the exchange's inbound folder cannot be listed by students
        ["cat", f"/home/{alice}/{ASSIGNMENT}/{notebook}"],  # alice's own copy
        ["ls", f"/home/{alice}"],
        ["ls", str(course)],  # the instructor's course directory
        ["cat", str(course / "gradebook.db")],
        ["cat", str(course / "submitted" / alice / ASSIGNMENT / notebook)],
        ["cat", str(course / "source" / ASSIGNMENT / notebook)],  # the master with the answers
    ]
    for cmd in denied:
        proc = _run(cmd, user=bob, check=False)
        assert proc.returncode != 0 and "Permission denied" in proc.stderr, (cmd, proc.stdout[:200])
    proc = _run(["ls", str(inbound)], user=alice, check=False)
    assert proc.returncode != 0
