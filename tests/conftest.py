"""Shared test settings: deterministic hypothesis runs, so a CI failure reproduces locally."""

import numpy as np
import pytest
from hypothesis import settings

settings.register_profile("default", derandomize=True, max_examples=150, deadline=None)
settings.load_profile("default")


@pytest.fixture(scope="session")
def built_site(tmp_path_factory):
    """Both languages built once per test session with the real MkDocs, strict."""
    from tools.site import build_all

    site = tmp_path_factory.mktemp("site")
    build_all(site)
    return site


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    """Expose each phase's report on the item, so fixtures can keep screenshots of failures."""
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)
