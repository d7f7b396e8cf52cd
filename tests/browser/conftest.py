"""Shared fixtures of the browser tests: one JupyterLab (started by ``make lab``) and one Chromium for
the whole session, each notebook run ("Run All Cells") at most once, and a cached headless run.

Without Chromium, Playwright or ``make`` the browser tests are skipped, except when the environment
variable ``CI`` is set: there they fail.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest
from support import browser as _browser
from support.notebooks import ARTIFACTS


@pytest.fixture(scope="session")
def lab():
    """The running lab (:class:`support.browser.Lab`): ``make lab`` + headless Chromium."""
    reason = _browser.unavailable_reason()
    if reason:
        if os.environ.get("CI"):
            pytest.fail(f"browser test cannot run on CI: {reason}")
        pytest.skip(reason)
    from playwright.sync_api import expect

    expect.set_options(timeout=15_000)  # the kernel shares 2 cores with the rest of the suite
    with _browser.lab_session() as session:
        try:
            yield session
        finally:
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            shutil.copy(session.server.log_path, ARTIFACTS / "jupyterlab.log")
            (ARTIFACTS / "browser-console.log").write_text("\n".join(session.console_errors) + "\n",
                                                           encoding="utf-8")


@pytest.fixture(scope="session")
def executed(lab):
    """``executed(path)``: the notebook opened in the lab after "Run All Cells" (run once)."""

    def run(path: Path) -> _browser.Notebook:
        nb = lab.open(f"notebooks/{path.name}")
        if not nb.run_status:
            nb.run_all()  # waits for the kernel to be idle and every widget view to render
        return nb

    return run


@pytest.fixture(scope="session")
def headless():
    """``headless(path)``: figure outputs per code cell of a browserless run of the notebook (cached).

    The run (nbclient, caller's environment as it is) works in a temporary copy of the course, so
    saved reflections never land in the repository.
    """
    cache: dict[str, dict[int, int]] = {}
    with tempfile.TemporaryDirectory(prefix="lmm-headless-") as tmp:
        root = _browser.copy_course(Path(tmp) / "root")

        def run(path: Path) -> dict[int, int]:
            if path.name not in cache:
                nb = _browser.headless_run(root / "notebooks" / path.name, root / "notebooks")
                cache[path.name] = _browser.figure_counts(nb)
            return cache[path.name]

        yield run
