"""An external tool a test needs is a skip on a developer's machine and a failure in CI."""

from __future__ import annotations

import pytest

from tests.tools import require_tool


def test_a_missing_tool_is_a_skip_saying_which_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="Debian package chromium"):
        require_tool("chromium", "chromium")


def test_a_missing_tool_fails_in_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI=true and promtool is not installed"):
        require_tool("promtool", "prometheus")


def test_a_present_tool_is_its_path() -> None:
    assert require_tool("sh", "dash").endswith("/sh")
