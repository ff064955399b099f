"""External tools some tests drive (chromium, promtool): skipped on a developer's machine without
them, saying why; a failure in CI, where .ci/run installs them."""

from __future__ import annotations

import os
import shutil

import pytest


def require_tool(name: str, package: str) -> str:
    """The tool's path; skip when it is absent, but fail when CI=true."""
    path = shutil.which(name)
    if path is not None:
        return path
    reason = f"{name} is not installed (Debian package {package}; .ci/run installs it in CI)"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true and {reason}")
    pytest.skip(reason)
