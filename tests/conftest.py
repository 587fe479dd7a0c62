"""Suite-wide rules.

Tests that need root, runc, qemu or network namespaces skip with a reason where the host
lacks them. `make test` installs everything they need, and sets CLOUDLET_REQUIRE_ALL=1 so
that such a skip counts as a failure there: on our machines nothing may skip.
"""

import os

import pytest

REQUIRE_ALL = os.environ.get("CLOUDLET_REQUIRE_ALL") == "1"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if REQUIRE_ALL and report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"skipped under CLOUDLET_REQUIRE_ALL=1 (make test installs everything): {reason}"
