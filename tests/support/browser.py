"""Drive the lesson in a real JupyterLab with headless Chromium (for tests and benchmarks).

Test support code, not part of the student package: the one place that knows how to start
JupyterLab the way a student does, drive a headless Chromium through Playwright, and open and run a
notebook in it. Used by ``tests/browser/`` (does every notebook run, show its figures, respond to
the keyboard and pass axe-core in the real front end?) and ``benchmarks/bench_browser.py`` (key
press to new figure latency).

The server is started **through ``make lab``**, the command the README gives students, with the
caller's environment exactly as it is (no variable set or removed). Only command-line options are
added, through the Makefile's ``LAB_ROOT`` and ``LAB_ARGS``: a free port on 127.0.0.1, a random token,
no browser window, ``window.jupyterapp`` exposed for the driver, and a temporary user-settings and
workspaces folder so a run neither reads nor writes the user's JupyterLab layout. The root is a
temporary copy of ``notebooks/`` and ``data/``, so running (and autosaving) never writes into the
repository.

Nothing is downloaded: the browser is Debian's ``/usr/bin/chromium`` (``apt-get install
chromium``), never a Playwright-managed build.

Typical use::

    with lab_session(root) as lab:            # server + browser, both stopped on exit
        nb = lab.open_and_run("notebooks/section1_linear_mixed_model.ipynb")
        assert not nb.errors()
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["REPO", "CHROMIUM", "BrowserUnavailable", "LabServer", "Lab", "Notebook", "copy_course",
           "figure_counts", "free_port", "headless_run", "lab_session", "launch_chromium",
           "unavailable_reason", "write_notebook"]

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
#: Flags for a quiet, offline, sandbox-free headless Chromium (CI runs as root).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--disable-dev-shm-usage",
]
VIEWPORT = {"width": 1400, "height": 1000}

#: Test-only JupyterLab user settings (a temporary folder): no virtual scrolling, so every cell is
#: in the DOM. The classroom defaults (no news pop-up) are NOT set here: they come from the venv.
_LAB_SETTINGS = {
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
}


class BrowserUnavailable(RuntimeError):
    """Chromium or Playwright is missing (the message says which and how to install it)."""


def unavailable_reason() -> str | None:
    """Why the browser tests cannot run here, or None when they can.

    Returns
    -------
    str or None
        A sentence naming the missing piece and the command that installs it.
    """
    if not CHROMIUM.is_file():
        return (f"Chromium not found at {CHROMIUM}: install Debian's package with "
                "`apt-get install -y chromium` (Playwright's own browser downloads are not used)")
    if shutil.which("make") is None:
        return "`make` is not installed: the browser tests start JupyterLab with `make lab`"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return ("the Python package playwright is not installed: run "
                "`.venv/bin/python -m pip install -e '.[test]'` (make setup)")
    return None


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def copy_course(dest: Path, folders=("notebooks", "data")) -> Path:
    """Copy the repository's ``notebooks/`` and ``data/`` into ``dest`` and return ``dest``.

    The server's root is this copy, so running the notebooks (which saves reflections next to
    the notebook) never writes into the repository.
    """
    dest = Path(dest)
    for name in folders:
        src = REPO / name
        if not src.is_dir():
            raise FileNotFoundError(f"{src} does not exist: run `make build` (notebooks) or "
                                    "`make data` (data) first")
        shutil.copytree(src, dest / name, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    return dest


def _is_figure_output(output: dict) -> bool:
    """A display of a figure: an image (PNG/SVG/JPEG) or HTML holding an <img>, not a widget view."""
    data = output.get("data", {})
    if "application/vnd.jupyter.widget-view+json" in data:
        return False
    html = data.get("text/html", "")
    html = "".join(html) if isinstance(html, list) else html
    return any(k.startswith("image/") for k in data) or "<img" in html


def figure_counts(nb: dict) -> dict[int, int]:
    """Figure outputs per code cell ``{cell index: n}`` of an executed notebook (nbformat dict)."""
    return {i: sum(_is_figure_output(o) for o in c.get("outputs", []))
            for i, c in enumerate(nb["cells"]) if c["cell_type"] == "code"}


def headless_run(path: Path, workdir: Path, timeout: int = 600) -> dict:
    """Execute a copy of the notebook without a browser (nbclient), in ``workdir``; return it.

    The kernel is started the way nbval and ``make build`` start one, from the caller's
    environment as it is: this is the "headless clean run" the browser's figures are matched to.
    """
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(str(path), as_version=4)
    NotebookClient(nb, timeout=timeout, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": str(workdir)}}).execute()
    return json.loads(nbformat.writes(nb))


def write_notebook(path: Path, cells: list[str]) -> Path:
    """Write a minimal notebook of code cells (for scratch runs and the benchmark)."""
    nb = {
        "cells": [{"cell_type": "code", "execution_count": None, "id": f"c{i}", "metadata": {},
                   "outputs": [], "source": src} for i, src in enumerate(cells)],
        "metadata": {"kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python",
                                    "name": "python3"},
                     "language_info": {"name": "python"}},
        "nbformat": 4, "nbformat_minor": 5,
    }
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(nb, indent=1), encoding="utf-8")
    return path


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# ============================================================================================
# JupyterLab server
# ============================================================================================
class LabServer:
    """JupyterLab started by ``make lab`` on 127.0.0.1 with a random token, in its own process group.

    Parameters
    ----------
    root_dir : path
        What ``make lab`` serves (``LAB_ROOT``): a temporary copy of the course (:func:`copy_course`).
    state_dir : path
        Where the run's JupyterLab user settings, workspaces and the server log go.
    startup_timeout : float
        Seconds to wait for ``/api/status`` to answer (``make lab`` first runs ``make setup``, which
        reinstalls the venv when ``pyproject.toml`` changed).
    """

    def __init__(self, root_dir, state_dir, startup_timeout: float = 300.0):
        self.root_dir = Path(root_dir)
        self.state_dir = Path(state_dir)
        self.startup_timeout = startup_timeout
        self.token = uuid.uuid4().hex
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log_path = self.state_dir / "jupyterlab.log"
        self.proc: subprocess.Popen | None = None
        self._log = None

    def _settings(self) -> Path:
        settings = self.state_dir / "user-settings"
        for rel, value in _LAB_SETTINGS.items():
            path = settings / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(value), encoding="utf-8")
        return settings

    def lab_args(self) -> list[str]:
        """The options given to ``jupyter lab`` through the Makefile's ``LAB_ARGS``."""
        return [
            "--ip=127.0.0.1",
            f"--port={self.port}",
            "--port-retries=0",
            f"--IdentityProvider.token={self.token}",
            "--ServerApp.open_browser=False",
            "--LabApp.expose_app_in_browser=True",
            f"--LabApp.user_settings_dir={self._settings()}",
            f"--LabApp.workspaces_dir={self.state_dir / 'workspaces'}",
        ]

    def command(self) -> list[str]:
        """``make -C <repo> lab LAB_ROOT=... LAB_ARGS=...``, with ``VENV`` when the tests run from a
        venv of the repository other than ``.venv`` (so the server runs the same interpreter)."""
        cmd = [shutil.which("make") or "make", "-C", str(REPO), "--no-print-directory", "lab",
               f"LAB_ROOT={self.root_dir}", f"LAB_ARGS={shlex.join(self.lab_args())}"]
        prefix = Path(sys.prefix).resolve()
        if prefix.parent == REPO and prefix.name != ".venv":
            cmd.append(f"VENV={prefix.name}")
        return cmd

    def start(self) -> LabServer:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        (self.state_dir / "workspaces").mkdir(exist_ok=True)
        cmd = self.command()
        self._log = open(self.log_path, "wb")  # noqa: SIM115 (closed in stop)
        self._log.write(("$ " + shlex.join(cmd) + "\n").encode())
        self._log.flush()
        # env=None: the caller's environment as it is, like a student's shell
        self.proc = subprocess.Popen(cmd, cwd=REPO, stdout=self._log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + self.startup_timeout
        url = f"{self.base_url}/api/status?token={self.token}"
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"`make lab` exited with code {self.proc.returncode} during "
                                   f"start-up; last lines of its log:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(url, timeout=2) as r:
                    if r.status == 200:
                        return self
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"JupyterLab (`make lab`) did not answer on {self.base_url} within "
                                   f"{self.startup_timeout:.0f} s; log:\n{self.log_tail()}")
            time.sleep(0.25)

    def log_tail(self, n: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return "(no log)"

    def stop(self):
        """SIGTERM the process group (make, its shell, jupyter) and wait until it is gone.

        On SIGTERM the server shuts its kernels down itself (jupyter_client starts each kernel in
        a session of its own, so they are not in the group); whatever of the group is still there
        after 15 s is killed.
        """
        proc, self.proc = self.proc, None
        if proc is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGTERM)
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline and _group_alive(proc.pid):
                proc.poll()
                time.sleep(0.2)
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=10)
        if self._log is not None:
            self._log.close()
            self._log = None

    def lab_url(self, path: str = "") -> str:
        return f"{self.base_url}/lab/tree/{path}?token={self.token}" if path else \
            f"{self.base_url}/lab?token={self.token}"

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


# ============================================================================================
# Browser
# ============================================================================================
_JS_OPEN = """async (path) => {
  const app = window.jupyterapp;
  const w = await app.commands.execute('docmanager:open', {path, factory: 'Notebook'});
  await w.context.ready;
  await w.sessionContext.ready;
  app.shell.activateById(w.id);
  return w.id;
}"""

_JS_FIND = """(id) => {
  const app = window.jupyterapp;
  for (const w of app.shell.widgets('main')) { if (w.id === id) return w; }
  return null;
}"""

_JS_KERNEL_IDLE = f"""(id) => {{
  const w = ({_JS_FIND})(id);
  const k = w && w.sessionContext.session && w.sessionContext.session.kernel;
  return !!k && k.status === 'idle';
}}"""

_JS_RUN_ALL = f"""(id) => {{
  const app = window.jupyterapp;
  const w = ({_JS_FIND})(id);
  app.shell.activateById(id);
  window.__lmmRun = window.__lmmRun || {{}};
  window.__lmmRun[id] = null;
  if (app.shell.currentWidget !== w) {{ window.__lmmRun[id] = 'not-current'; return; }}
  app.commands.execute('notebook:run-all-cells').then(
    (ok) => {{ window.__lmmRun[id] = ok === false ? 'stopped' : 'done'; }},
    (err) => {{ window.__lmmRun[id] = 'error: ' + err; }});
}}"""

_JS_OUTPUTS = f"""(id) => {{
  const w = ({_JS_FIND})(id);
  const out = [];
  w.content.widgets.forEach((cell, i) => {{
    if (cell.model.type !== 'code') return;
    const outputs = cell.model.outputs.toJSON();
    out.push({{index: i, execution_count: cell.model.executionCount,
               source: cell.model.sharedModel.getSource().slice(0, 200), outputs}});
  }});
  return out;
}}"""

#: widget views are rendered into an lm-Panel output; an empty one is still waiting for its model
_JS_EMPTY_WIDGET_OUTPUTS = f"""(id) => {{
  const w = ({_JS_FIND})(id);
  return Array.from(w.node.querySelectorAll('.jp-OutputArea-output.lm-Panel'))
    .filter((el) => el.children.length === 0 && !(el.innerText || '').trim()).length;
}}"""

_JS_DOM_TEXT_ERRORS = f"""(id) => {{
  const w = ({_JS_FIND})(id);
  const bad = [];
  w.node.querySelectorAll('.jp-OutputArea-output').forEach((el) => {{
    const t = el.innerText || '';
    if (t.includes('Error displaying widget') || t.includes('Error rendering output')
        || el.getAttribute('data-mime-type') === 'application/vnd.jupyter.error')
      bad.push(t.slice(0, 300));
  }});
  return bad;
}}"""


#: per code cell (index among all cells): figures shown, i.e. output areas outside any widget
#: with an <img> that has been decoded (complete, non-zero width), and images still loading
_JS_FIGURES = f"""(id) => {{
  const w = ({_JS_FIND})(id);
  const out = [];
  w.content.widgets.forEach((cell, i) => {{
    if (cell.model.type !== 'code') return;
    let shown = 0, loading = 0, imgs = [];
    cell.node.querySelectorAll('.jp-OutputArea-output').forEach((el) => {{
      if (el.closest('.jupyter-widgets') || el.querySelector('.jupyter-widgets')) return;
      const img = el.querySelectorAll('img');
      if (!img.length) return;
      const ok = Array.from(img).some((m) => m.complete && m.naturalWidth > 0);
      if (ok) shown += 1; else loading += 1;
      img.forEach((m) => imgs.push({{alt: m.getAttribute('alt'), w: m.naturalWidth}}));
    }});
    out.push({{index: i, shown, loading, imgs}});
  }});
  return out;
}}"""


@dataclass
class Notebook:
    """An opened notebook in the lab: its JupyterLab widget id and the page it lives in."""

    lab: Lab
    path: str
    id: str
    run_seconds: float = float("nan")
    run_status: str = ""

    @property
    def page(self):
        return self.lab.page

    @property
    def root(self):
        """Locator of the notebook panel (scope every query to it)."""
        return self.page.locator(f'[id="{self.id}"]')

    def activate(self):
        self.page.evaluate("(id) => window.jupyterapp.shell.activateById(id)", self.id)
        self.root.wait_for(state="visible")

    def wait_kernel_idle(self, timeout_ms: float = 60_000):
        self.page.wait_for_function(_JS_KERNEL_IDLE, arg=self.id, timeout=timeout_ms, polling=100)

    def run_all(self, timeout_ms: float = 240_000):
        """Run all cells ("Run All Cells") and wait until they finished and the kernel is idle."""
        self.wait_kernel_idle()
        t0 = time.perf_counter()
        self.page.evaluate(_JS_RUN_ALL, self.id)
        self.page.wait_for_function("(id) => window.__lmmRun && window.__lmmRun[id] !== null",
                                    arg=self.id, timeout=timeout_ms, polling=200)
        self.run_status = self.page.evaluate("(id) => window.__lmmRun[id]", self.id)
        self.wait_kernel_idle(timeout_ms)
        self.wait_widgets_rendered()
        self.run_seconds = time.perf_counter() - t0
        return self.run_status

    def wait_widgets_rendered(self, timeout_ms: float = 30_000) -> int:
        """Wait until every widget output shows something (a view or an error message).

        Returns the number still empty at the timeout (reported by :meth:`errors`), not raising.
        """
        from playwright.sync_api import TimeoutError as PlaywrightTimeout

        js = f"(id) => ({_JS_EMPTY_WIDGET_OUTPUTS})(id) === 0"
        with contextlib.suppress(PlaywrightTimeout):
            self.page.wait_for_function(js, arg=self.id, timeout=timeout_ms, polling=100)
        return self.page.evaluate(_JS_EMPTY_WIDGET_OUTPUTS, self.id)

    def cells(self) -> list[dict]:
        """Code cells as {index, execution_count, source (start), outputs (nbformat JSON)}."""
        return self.page.evaluate(_JS_OUTPUTS, self.id)

    def errors(self) -> list[str]:
        """One line per error output (the ``ename: evalue`` of each exception) and per front-end
        rendering failure such as "Error displaying widget: model not found"."""
        msgs = []
        for c in self.cells():
            for o in c["outputs"]:
                if o.get("output_type") == "error":
                    msgs.append(f"cell {c['index']} ({c['source'][:60]!r}): "
                                f"{o.get('ename')}: {o.get('evalue')}")
        msgs += [f"front end: {t}" for t in self.page.evaluate(_JS_DOM_TEXT_ERRORS, self.id)]
        empty = self.page.evaluate(_JS_EMPTY_WIDGET_OUTPUTS, self.id)
        if empty:
            msgs.append(f"front end: {empty} widget output(s) never rendered (no view, no error)")
        return msgs

    def figures(self, timeout_ms: float = 30_000) -> dict[int, int]:
        """Figures shown per code cell ``{cell index: n}``, read from the page.

        A figure is an output (outside any widget) whose ``<img>`` the browser has decoded; images
        inside widget views (explorer, story, caterpillar switch) are not counted here. Waits up
        to ``timeout_ms`` until the page shows as many figures as the cells' output models hold
        (outputs render asynchronously after the kernel went idle), then returns what is shown.
        """
        deadline = time.monotonic() + timeout_ms / 1000
        while True:
            model = {c["index"]: sum(_is_figure_output(o) for o in c["outputs"]) for c in self.cells()}
            shown = {c["index"]: c["shown"] for c in self.page.evaluate(_JS_FIGURES, self.id)}
            if shown == model or time.monotonic() > deadline:
                return shown
            time.sleep(0.5)

    def unexecuted(self) -> list[int]:
        """Indexes of code cells with source that have no execution count after a run."""
        return [c["index"] for c in self.cells()
                if c["execution_count"] is None and c["source"].strip()]

    def screenshot(self, path: Path, selector: str | None = None):
        """Screenshot the viewport, scrolled to the first ``selector`` match if given."""
        if selector is not None:
            loc = self.root.locator(selector).first
            if loc.count():
                loc.scroll_into_view_if_needed()
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(path))


@dataclass
class Lab:
    """A Chromium page showing JupyterLab, with the notebooks opened so far."""

    server: LabServer
    context: object
    page: object
    notebooks: dict = field(default_factory=dict)
    console_errors: list = field(default_factory=list)

    def open(self, path: str) -> Notebook:
        """Open ``path`` (relative to the server root) in a tab, or activate it if already open."""
        if path in self.notebooks:
            nb = self.notebooks[path]
            nb.activate()
            return nb
        wid = self.page.evaluate(_JS_OPEN, path)
        nb = Notebook(self, path, wid)
        self.notebooks[path] = nb
        nb.root.wait_for(state="visible")
        return nb

    def open_and_run(self, path: str, timeout_ms: float = 240_000) -> Notebook:
        nb = self.open(path)
        nb.run_all(timeout_ms)
        return nb


def launch_chromium(playwright, user_data_dir: Path):
    """Headless Debian Chromium in a fresh profile, through Playwright (no browser download)."""
    return playwright.chromium.launch_persistent_context(
        str(user_data_dir), executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS,
        viewport=VIEWPORT, ignore_https_errors=False, accept_downloads=False,
        service_workers="block",
    )


#: Playwright's sync API allows one driver per thread: lab sessions open at the same time (a session-
#: wide fixture and a module's own lab) share it, each with its own browser context
_PLAYWRIGHT: dict = {"driver": None, "users": 0}


@contextlib.contextmanager
def playwright_driver():
    """The thread's one Playwright (sync API) driver, shared by every user in the process.

    Playwright's sync API refuses a second ``sync_playwright()`` while one is running in the same
    thread ("using Playwright Sync API inside the asyncio loop"), so the session-wide lab and any
    other browser test (the JupyterHub test) take the driver from here; it stops with its last user.
    """
    from playwright.sync_api import sync_playwright

    if _PLAYWRIGHT["driver"] is None:
        _PLAYWRIGHT["driver"] = sync_playwright().start()
    _PLAYWRIGHT["users"] += 1
    try:
        yield _PLAYWRIGHT["driver"]
    finally:
        _PLAYWRIGHT["users"] -= 1
        if _PLAYWRIGHT["users"] == 0:
            driver, _PLAYWRIGHT["driver"] = _PLAYWRIGHT["driver"], None
            driver.stop()


@contextlib.contextmanager
def lab_session(root_dir: Path | None = None, *, state_dir: Path | None = None):
    """Start JupyterLab and Chromium, open the lab page, yield a :class:`Lab`, stop both.

    Parameters
    ----------
    root_dir : path, optional
        Server root. Default: a temporary copy of the repository's ``notebooks/`` and ``data/``.
    state_dir : path, optional
        Folder for the server state, its log and the browser profile. Default: a temporary
        folder removed on exit.

    Raises
    ------
    BrowserUnavailable
        When Chromium or Playwright is missing.
    """
    reason = unavailable_reason()
    if reason:
        raise BrowserUnavailable(reason)

    with contextlib.ExitStack() as stack:
        if state_dir is None:
            state_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="lmm-lab-")))
        state_dir = Path(state_dir)
        if root_dir is None:
            root_dir = copy_course(state_dir / "root")
        server = LabServer(root_dir, state_dir / "server")
        stack.callback(server.stop)  # registered before start: stopped even if start fails
        server.start()
        pw = stack.enter_context(playwright_driver())
        context = launch_chromium(pw, state_dir / "chromium-profile")
        stack.callback(context.close)
        page = context.pages[0] if context.pages else context.new_page()
        lab = Lab(server, context, page)
        page.on("pageerror", lambda e: lab.console_errors.append(f"pageerror: {e}"))
        page.on("console", lambda m: lab.console_errors.append(f"console: {m.text}")
                if m.type == "error" else None)
        page.set_default_timeout(60_000)
        page.goto(server.lab_url())
        page.wait_for_function("() => !!window.jupyterapp", timeout=90_000)
        page.evaluate("async () => { await window.jupyterapp.started; "
                      "await window.jupyterapp.restored; }")
        yield lab
