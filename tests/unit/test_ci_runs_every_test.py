"""A service that does not come up: a skip saying why on a developer's machine, a failure in CI."""

from __future__ import annotations

import pytest

from tests.conftest import unavailable

REASON = "PostgreSQL at 127.0.0.1:5432 is not reachable (OperationalError: refused)"


@pytest.mark.parametrize("value", ["", "false", "0"])
def test_outside_ci_it_skips_saying_why(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("CI", value)
    with pytest.raises(pytest.skip.Exception) as caught:
        unavailable(REASON)
    assert str(caught.value) == REASON


def test_without_ci_set_it_skips(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="not reachable"):
        unavailable(REASON)


@pytest.mark.parametrize("value", ["true", "TRUE", "1", "yes"])
def test_in_ci_it_fails_the_run_saying_why(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("CI", value)
    with pytest.raises(pytest.fail.Exception) as caught:
        unavailable(REASON)
    assert REASON in str(caught.value)
    assert "CI=true" in str(caught.value)
