"""Shared test settings: deterministic hypothesis runs, so a CI failure reproduces locally, and
one strict build of the site per run, shared by the parallel workers (pytest-xdist).

The build starts in the background as soon as collection shows that a selected test needs it,
and the tests that need it run last, so the unit tests run while the site builds."""

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import settings

ROOT = Path(__file__).resolve().parent.parent
BUILD_TIMEOUT = 1800   # seconds; a build that takes longer has hung

settings.register_profile("default", derandomize=True, max_examples=150, deadline=None)
settings.load_profile("default")


def _needs_site(item) -> bool:
    return "built_site" in getattr(item, "fixturenames", ())


def _shared_dir(config) -> Path:
    """A folder all workers of this run share (the parent of each worker's own temp folder)."""
    base = config._tmp_path_factory.getbasetemp()
    return base.parent if "PYTEST_XDIST_WORKER" in os.environ else base


def pytest_collection_modifyitems(config, items):
    items.sort(key=_needs_site)   # stable: the order within each group is kept


def pytest_collection_finish(session):
    """One process per run (the only one, or xdist's first worker) starts the site build."""
    if session.config.option.collectonly or os.environ.get("PYTEST_XDIST_WORKER", "gw0") != "gw0":
        return
    if not any(_needs_site(item) for item in session.items):
        return
    shared = _shared_dir(session.config)
    # the exit status goes to site.rc by rename, so a reader never sees a half-written file
    with open(shared / "site.log", "w") as log:
        session.config._site_build = subprocess.Popen(
            ["sh", "-c", '"$0" -m tools.site build --site-dir "$1"; echo $? > "$2.tmp" && mv "$2.tmp" "$2"',
             sys.executable, str(shared / "site"), str(shared / "site.rc")],
            cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)


def pytest_unconfigure(config):
    build = getattr(config, "_site_build", None)
    if build is not None and build.poll() is None:
        build.terminate()


@pytest.fixture(scope="session")
def built_site(pytestconfig):
    """Both languages built once per test run with the real MkDocs, strict (`python -m tools.site
    build`, started by pytest_collection_finish)."""
    shared = _shared_dir(pytestconfig)
    rc_file = shared / "site.rc"
    deadline = time.monotonic() + BUILD_TIMEOUT
    while not rc_file.exists():
        if time.monotonic() > deadline:
            pytest.fail(f"the site build did not finish in {BUILD_TIMEOUT} s; see {shared / 'site.log'}")
        time.sleep(0.2)
    status = rc_file.read_text().strip()
    if status != "0":
        log = (shared / "site.log").read_text(encoding="utf-8", errors="replace")
        pytest.fail(f"the strict site build failed (exit {status}); the end of its log:\n{log[-4000:]}",
                    pytrace=False)
    return shared / "site"


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    """Expose each phase's report on the item, so fixtures can keep screenshots of failures."""
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)
