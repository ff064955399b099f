"""The operations pack in deploy/: promtool checks the alert rules, their unit tests, the scrape
configuration and the dashboard's PromQL; a live ``bridge run`` exports every metric they name."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest

from bridge.simulator import SimServer, SimState, generate
from tests.conftest import ROOT
from tests.integration.conftest import bridge_env
from tests.integration.test_ops import Daemon, free_port, wait_until
from tests.tools import require_tool

pytestmark = pytest.mark.integration

DEPLOY = ROOT / "deploy"
ALERTS = DEPLOY / "prometheus" / "alerts.yml"
DASHBOARD = DEPLOY / "grafana" / "sisumaker-bridge.json"
METRIC = re.compile(r"\bbridge_[a-z0-9_]+\b")
# Gauges other changes add (issue 14 step 4, the review queue of issue 13): the alerts use them
# already, the dashboard does not, and a bridge without them exports nothing of that name.
RETURNED_AND_REVIEW = {"bridge_invitations_returned", "bridge_review_queue"}
ALERT_NAMES = ["BridgeDown", "BridgeAbsent", "BridgeNoCompletePass", "BridgeCasesOverdue",
               "BridgePushFailed", "BridgePushStuck", "BridgeInvitationReturned",
               "BridgeQuarantineGrowing", "BridgeReviewQueueGrowing"]


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    tool = require_tool("promtool", "prometheus")
    return subprocess.run([tool, *args], capture_output=True, text=True, timeout=60, check=False,
                          cwd=DEPLOY / "prometheus")


def dashboard_queries() -> list[str]:
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "expr" or (key == "query" and isinstance(value, str)
                                     and "(" in value):
                    found.append(value)
                else:
                    walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(json.loads(DASHBOARD.read_text(encoding="utf-8")))
    return found


def alert_expressions() -> dict[str, str]:
    text = ALERTS.read_text(encoding="utf-8")
    return dict(re.findall(r"- alert: (\w+)\n\s+expr: (.+)", text))


# --- promtool ---------------------------------------------------------------------------------


@pytest.mark.promtool
def test_promtool_accepts_the_alert_rules() -> None:
    done = promtool("check", "rules", "alerts.yml")
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"SUCCESS: {len(ALERT_NAMES)} rules found" in done.stdout


@pytest.mark.promtool
def test_the_alerts_fire_when_they_should_and_only_then() -> None:
    done = promtool("test", "rules", "alerts.test.yml")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout
    tested = set(re.findall(r"alertname: (\w+)",
                            (DEPLOY / "prometheus" / "alerts.test.yml").read_text()))
    assert tested == set(ALERT_NAMES)


@pytest.mark.promtool
def test_promtool_accepts_the_scrape_configuration() -> None:
    done = promtool("check", "config", "prometheus.yml")
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.promtool
def test_every_dashboard_query_is_valid_promql(tmp_path: Path) -> None:
    queries = dashboard_queries()
    assert len(queries) >= 12
    rules = {"groups": [{"name": "dashboard", "rules": [
        {"record": f"dashboard:query_{n}",
         "expr": q.replace("$__rate_interval", "5m").replace("$job", ".+")}
        for n, q in enumerate(q for q in queries if not q.startswith("label_values"))]}]}
    path = tmp_path / "dashboard.rules.json"  # JSON is YAML
    path.write_text(json.dumps(rules), encoding="utf-8")
    done = promtool("check", "rules", str(path))
    assert done.returncode == 0, done.stdout + done.stderr


# --- files ------------------------------------------------------------------------------------


def test_the_readme_says_what_each_alert_means_and_what_to_do() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Alerts", 1)[1].split("\n## ", 1)[0]
    assert sorted(alert_expressions()) == sorted(ALERT_NAMES)
    for name in ALERT_NAMES:
        line = next((row for row in section.splitlines() if f"`{name}`" in row), None)
        assert line is not None, f"README: no row for {name}"
        assert line.count("|") >= 4, f"README: {name} needs meaning and what to do"


def test_the_dashboard_is_a_grafana_dashboard_over_a_chosen_prometheus() -> None:
    board = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    assert board["uid"] == "sisumaker-bridge" and board["schemaVersion"] >= 36
    ids = [panel["id"] for panel in board["panels"]]
    assert len(ids) == len(set(ids))
    for panel in board["panels"]:
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert METRIC.search(target["expr"]), f"{panel['title']}: no bridge metric"


def test_the_compose_file_runs_the_bridge_on_postgresql() -> None:
    import yaml  # PyYAML: a test tool (dev extra), not a dependency of the bridge
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text(encoding="utf-8"))
    bridge, db = compose["services"]["bridge"], compose["services"]["db"]
    assert bridge["environment"]["BRIDGE_LEDGER_URL"].startswith("postgresql://bridge:")
    assert bridge["depends_on"]["db"]["condition"] == "service_healthy"
    assert "pg_isready" in " ".join(db["healthcheck"]["test"])
    assert bridge["build"]["context"] == ".."
    assert (DEPLOY / bridge["build"]["context"] / bridge["build"]["dockerfile"]).is_file()


# --- against a live bridge --------------------------------------------------------------------


def exported_names(text: str) -> set[str]:
    names = set()
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            names.add(line.split()[2])
        elif line and not line.startswith("#"):
            names.add(re.split(r"[{ ]", line, maxsplit=1)[0])
    return names


def test_every_metric_the_dashboard_and_the_alerts_name_is_exported_by_a_live_bridge(
        tmp_path: Path) -> None:
    state = SimState()
    generate(state, letters=40, seed=4)
    port = free_port()
    with SimServer(state) as sim:
        env = bridge_env(sim, tmp_path / "data", BRIDGE_METRICS_PORT=str(port),
                         BRIDGE_METRICS_HOST="127.0.0.1", BRIDGE_POLL_INTERVAL="3600")
        running = Daemon(["run"], env, tmp_path)
        try:
            running.wait_for("sync.summary", timeout=90)
            url = f"http://127.0.0.1:{port}/metrics"
            wait_until(lambda: httpx.get(url, timeout=5).status_code == 200, 30, "/metrics")
            exported = exported_names(httpx.get(url, timeout=5).text)
            # without BRIDGE_BOARD_TOKEN there is no board
            assert httpx.get(f"http://127.0.0.1:{port}/board/", timeout=5).status_code == 404
        finally:
            assert running.stop() == 0
    assert "bridge_cases" in exported and "bridge_passes_total" in exported  # a real scrape
    in_dashboard = {name for query in dashboard_queries() for name in METRIC.findall(query)}
    assert len(in_dashboard) >= 12
    assert in_dashboard - exported == set(), "the dashboard names metrics the bridge lacks"
    in_alerts = {name for expr in alert_expressions().values() for name in METRIC.findall(expr)}
    assert in_alerts - exported == set(), "the alerts name metrics the bridge lacks"
    assert in_alerts >= RETURNED_AND_REVIEW and in_dashboard >= RETURNED_AND_REVIEW
