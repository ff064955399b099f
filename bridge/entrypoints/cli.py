"""The ``bridge`` command line."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
from collections.abc import Callable, Sequence
from datetime import timedelta
from types import FrameType
from typing import TYPE_CHECKING, Any

from bridge import __version__
from bridge.entrypoints import cases_cli, ops_cli, outbox_cli, review_cli
from bridge.entrypoints.context import BRIDGE, LEDGER
from bridge.entrypoints.output import fail, print_table
from bridge.errors import BridgeError, ConfigurationError, MappingError

if TYPE_CHECKING:
    from bridge.bootstrap import Bridge, LedgerAccess
    from bridge.entrypoints.http import OpsServer
    from bridge.metrics import Metrics
    from bridge.services.cycle import CycleReport
    from bridge.services.stop import StopSignal

# Each command imports what it uses inside its handler: `bridge --help` and the commands that
# only read the ledger (`needs=LEDGER`) skip the settings, the mapping files, the Sisumaker
# client and structlog: `status --json` took 0.8 s, most of it imports, and now takes 0.12 s
# on the 2-core machine (bench/startup.py prints the figures per command).

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_CONFIG = 2
# The daemon pushes at most this many outbox entries per round, so that a first run's backlog
# does not keep the lists from being polled; `sync --once` pushes everything due.
DAEMON_PUSHES_PER_ROUND = 200

DESCRIPTION = """\
Follows Diskominfo Kota Tangerang Selatan's application-development SOP through Sisumaker:
polls incoming letters (surat masuk) and dispositions (disposisi) into an idempotent ledger.

Settings come from BRIDGE_* environment variables or a .env file in the working directory:
  BRIDGE_SISUMAKER_URL, BRIDGE_SISUMAKER_USERNAME, BRIDGE_SISUMAKER_PASSWORD
  (or BRIDGE_SISUMAKER_PASSWORD_FILE), BRIDGE_YEARS, BRIDGE_LEDGER_URL, BRIDGE_DATA_DIR,
  BRIDGE_MAPPINGS_DIR, BRIDGE_POLL_INTERVAL, BRIDGE_LOG_FORMAT, BRIDGE_LOG_LEVEL.
See README.md for every setting and its default.
Exit status: 0 success, 1 a pass or command failed, 2 a setting or mapping file is wrong."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bridge", description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    sync = commands.add_parser(
        "sync", help="one pass of both lists in every polled year directory, then a summary",
        description="Read the incoming-letter and disposition lists once (from page 1 down to "
                    "the last pass's watermark, or every page when a full pass is due), store "
                    "them in the ledger and print a summary. Exits 1 if a list failed.",
    )
    sync.add_argument("--once", action="store_true",
                      help="run one sync and exit (the default; kept for scripts)")
    sync.add_argument("--full", action="store_true",
                      help="read every page (a full reconciliation pass) instead of stopping at "
                           "the watermark")
    sync.add_argument("--dry-run", action="store_true",
                      help="render and log the notes and letters that would be pushed; send "
                           "nothing and queue nothing")
    sync.set_defaults(handler=_cmd_sync)

    run = commands.add_parser(
        "run", help="the polling daemon: a sync every BRIDGE_POLL_INTERVAL seconds",
        description="Poll until SIGTERM or Ctrl-C, which finish the page being stored and exit "
                    "0. A failing pass is logged and retried at the next interval. A full "
                    "reconciliation pass runs once a day after BRIDGE_FULL_SYNC_HOUR (local).",
    )
    run.add_argument("--max-syncs", type=int, default=None, metavar="N",
                     help="stop after N syncs (for trials and tests)")
    run.add_argument("--dry-run", action="store_true",
                     help="log what would be pushed; send nothing")
    run.set_defaults(handler=_cmd_run)

    status = commands.add_parser(
        "status", help="what the ledger holds: items, quarantine, cursors, last passes",
        description="Read the ledger only; Sisumaker is not contacted.",
    )
    status.add_argument("--json", action="store_true", help="print one JSON object")
    status.set_defaults(handler=_cmd_status, needs=LEDGER)

    probe = commands.add_parser(
        "probe", help="check that the API profile (mappings/sisumaker.toml) fits the server",
        description="Read-only (the login is the only POST): for each year directory, log in, "
                    "read the first pages of each list and the two ref look-ups, and report per "
                    "mapped field how often it is present, its types and how many dates parse; "
                    "keys the profile does not map; whether page 2 continues page 1; the time "
                    "of each request. Exits 0 when the profile fits, 1 listing what does not.",
    )
    probe.add_argument("--json", action="store_true", help="print one JSON object")
    probe.set_defaults(handler=_cmd_probe)

    cases_cli.add_commands(commands)
    review_cli.add_commands(commands)
    outbox_cli.add_commands(commands)
    ops_cli.add_commands(commands)

    demo = commands.add_parser(
        "demo", help="try the bridge against the built-in simulated Sisumaker",
        description="Start a simulated Sisumaker on a free loopback port with generated letters "
                    "and dispositions, run a few passes against it (with new and changed letters "
                    "in between) into a fresh ledger under BRIDGE_DATA_DIR/demo, and print what "
                    "happened. Needs no Sisumaker credentials.",
    )
    demo.add_argument("--letters", type=int, default=300, help="letters to generate (300)")
    demo.add_argument("--passes", type=int, default=3, help="passes to run (3)")
    demo.add_argument("--seed", type=int, default=1, help="seed of the generated data (1)")
    demo.set_defaults(handler=_cmd_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; return the exit status."""
    args = _parser().parse_args(argv)
    handler: Callable[[Any, argparse.Namespace], int] = args.handler
    try:
        needs = getattr(args, "needs", BRIDGE)
        if callable(needs):  # a command whose needs depend on its arguments (`case ID|explain`)
            needs = needs(args)
        context = _ledger_access() if needs == LEDGER else _bridge()
    except (ConfigurationError, MappingError) as exc:
        fail(str(exc))
        return EXIT_CONFIG
    except BridgeError as exc:
        fail(str(exc))
        return EXIT_FAILED
    try:
        return handler(context, args)
    except BrokenPipeError:
        # The reader went away (`bridge cases | head`): stop quietly, as other tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_FAILED
    except (ConfigurationError, MappingError) as exc:
        fail(str(exc))
        return EXIT_CONFIG
    except BridgeError as exc:
        fail(str(exc))
        return EXIT_FAILED
    finally:
        context.close()


def _ledger_access() -> LedgerAccess:
    from bridge.bootstrap import open_ledger_for_reading

    return open_ledger_for_reading()


def _bridge() -> Bridge:
    from bridge.bootstrap import build
    from bridge.config.settings import load_settings
    from bridge.logs import configure_logging

    settings = load_settings()
    redactor = configure_logging(fmt=settings.resolved_log_format, level=settings.log_level)
    return build(settings, redactor=redactor)


def _log() -> Any:
    import structlog

    return structlog.get_logger("bridge.cli")


def _install_stop_handlers(stop: StopSignal) -> list[str]:
    """Make SIGTERM and Ctrl-C set ``stop``; return the list the signal names land in.

    The handler only sets the event: logging from a signal handler can deadlock on the
    logger's write lock when the signal lands while the main thread is writing a line.
    """
    received: list[str] = []

    def handle(signum: int, _frame: FrameType | None) -> None:
        received.append(signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, handle)
    signal.signal(signal.SIGINT, handle)
    return received


def _log_shutdown(received: list[str]) -> None:
    if received:
        _log().info("shutdown.requested", signal=received[0],
                    next="finished the page being stored; exiting")


def _cmd_sync(bridge: Bridge, args: argparse.Namespace) -> int:
    from bridge.domain.records import PassMode

    received = _install_stop_handlers(bridge.stop)
    cycle = bridge.cycle(dry_run=args.dry_run)
    started, cpu = time.perf_counter(), time.process_time()
    report = cycle.run_once(mode=PassMode.FULL if args.full else None)
    _log_shutdown(received)
    _log_summary(report, time.perf_counter() - started, time.process_time() - cpu)
    if bridge.settings.resolved_log_format == "console":
        _print_summary(report)
    if report.sync.failures:
        fail(f"{len(report.sync.failures)} list(s) failed; first: {report.sync.failures[0]}")
        return EXIT_FAILED
    return EXIT_OK


def _cmd_run(bridge: Bridge, args: argparse.Namespace) -> int:
    from bridge.config.environment import redacted_url
    from bridge.metrics import Metrics
    from bridge.services.leader import Leadership
    from bridge.services.lease import LeaseBusyError

    log = _log()
    received = _install_stop_handlers(bridge.stop)
    cycle = bridge.cycle(dry_run=args.dry_run, pushes_per_round=DAEMON_PUSHES_PER_ROUND)
    settings = bridge.settings
    metrics = Metrics(bridge.open_ledger)
    server = _ops_server(bridge, metrics)
    log.info("daemon.started", poll_interval_s=settings.poll_interval,
             ledger=redacted_url(settings.ledger_location), push_enabled=settings.push_enabled,
             dry_run=args.dry_run, metrics_port=server.port if server else None,
             board=server is not None and settings.board_token is not None)
    syncs = 0
    client = bridge.client()
    leadership = Leadership(bridge.open_ledger, timedelta(seconds=settings.leader_ttl),
                            bridge.stop)
    try:
        while not bridge.stop.is_set():
            if not leadership.is_leader and not leadership.wait_for_leadership():
                break
            started, cpu = time.perf_counter(), time.process_time()
            requests, retries = client.requests, client.retries
            try:
                report = cycle.run_once()
            except LeaseBusyError as exc:
                metrics.error(type(exc).__name__)
                log.warning("daemon.waiting", reason=str(exc), next="trying again next interval")
            except BridgeError as exc:
                metrics.error(type(exc).__name__)
                log.error("round.failed", reason=str(exc), next="trying again next interval")
            else:
                metrics.observe(report, requests=client.requests - requests,
                                retries=client.retries - retries)
                _log_summary(report, time.perf_counter() - started, time.process_time() - cpu)
            syncs += 1
            if args.max_syncs is not None and syncs >= args.max_syncs:
                break
            bridge.stop.wait(settings.poll_interval)
    finally:
        leadership.step_down()
        if server is not None:
            server.stop()
    _log_shutdown(received)
    log.info("daemon.stopped", syncs=syncs)
    return EXIT_OK


def _ops_server(bridge: Bridge, metrics: Metrics) -> OpsServer | None:
    from bridge.entrypoints.http import OpsServer, readiness

    settings = bridge.settings
    if settings.metrics_port == 0:
        return None
    max_age = timedelta(seconds=settings.readiness_max_age)
    board = None
    if settings.board_token is not None:
        # Jinja2 is loaded only when the board is on: the other commands start faster without.
        from bridge.entrypoints.board import Board

        board = Board(bridge.open_ledger, bridge.sop.sop, settings.board_token,
                      zone=bridge.profile.zone, secure_cookie=settings.board_secure_cookie)
    try:
        server = OpsServer(settings.metrics_port, metrics,
                           lambda: readiness(bridge.open_ledger, max_age),
                           host=settings.metrics_host, board=board)
    except OSError as exc:
        raise ConfigurationError(
            f"BRIDGE_METRICS_PORT: cannot listen on {settings.metrics_host}:"
            f"{settings.metrics_port}: {exc.strerror} (0 turns the server off)"
        ) from None
    server.start()
    return server


def _cmd_status(access: LedgerAccess, args: argparse.Namespace) -> int:
    from bridge.config.environment import redacted_url
    from bridge.services.status import status_report

    report = status_report(access.ledger, ledger_url=redacted_url(access.location))
    if args.json:
        print(json.dumps(report, ensure_ascii=True))
        return EXIT_OK
    _print_status(report)
    return EXIT_OK


def _cmd_probe(bridge: Bridge, args: argparse.Namespace) -> int:
    from bridge.entrypoints.probe_cli import run_probe

    return EXIT_OK if run_probe(bridge, as_json=args.json) else EXIT_FAILED


def _cmd_demo(bridge: Bridge, args: argparse.Namespace) -> int:
    from bridge.entrypoints.demo import DemoOptions, run_demo
    from bridge.logs import configure_logging

    log_path = bridge.settings.data_dir / "demo.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    print(f"bridge demo: the bridge's JSON logs go to {log_path}")
    with log_path.open("w", encoding="utf-8") as stream:
        configure_logging(fmt="json", level=bridge.settings.log_level, stream=stream,
                          redactor=bridge.redactor)
        return _demo(bridge, args, run_demo, DemoOptions)


def _demo(bridge: Bridge, args: argparse.Namespace, run_demo: Any, options: Any) -> int:
    lines: list[str] = []
    code: int = run_demo(bridge.settings, options(letters=args.letters, passes=args.passes,
                                                  seed=args.seed), lines)
    for line in lines:
        print(line)
    return code


def _log_summary(report: CycleReport, duration: float, cpu: float) -> None:
    sync = report.sync
    result = sync.result
    push = report.push
    log = _log()
    event = log.info if report.ok else log.warning
    event("sync.summary", pass_id=sync.pass_id, passes=len(sync.passes),
          requests=sync.requests, new=result.new, changed=result.changed,
          unchanged=result.unchanged, quarantined=result.quarantined,
          failures=len(sync.failures), stopped=sync.stopped,
          cases_derived=report.track.derived, cases_opened=report.track.opened,
          cases_changed=report.track.changed, sla_breaches=report.track.breaches,
          invitations_checked=report.watch.checked, invitations_signed=report.watch.signed,
          invitations_returned=report.watch.returned,
          pushed=push.sent if push else 0, push_found=push.found if push else 0,
          push_left=push.left if push else 0,
          push_deferred=push.deferred if push else 0, push_failed=push.failed if push else 0,
          dry_run_pushes=len(report.dry_run), duration_s=round(duration, 3),
          cpu_ms=round(cpu * 1000, 1))


def _print_summary(report: CycleReport) -> None:
    from bridge.domain.text import printable

    rows: list[tuple[str, ...]] = [
        ("list", "year", "mode", "pages", "new", "changed", "unchanged", "quarantined")
    ]
    for s in report.sync.passes:
        rows.append((s.kind.value, str(s.year), s.mode.value, str(s.pages), str(s.result.new),
                     str(s.result.changed), str(s.result.unchanged), str(s.result.quarantined)))
    print_table(rows)
    track = report.track
    print(f"cases: {track.derived} derived, {track.opened} opened, {track.changed} changed, "
          f"{track.breaches} new SLA breaches")
    if report.push is not None:
        push = report.push
        print(f"pushed: {push.sent} sent, {push.found} found already there, "
              f"{push.deferred} deferred, {push.failed} failed")
    for intent in report.dry_run:
        print(f"would push {intent.ref}: {printable(json.dumps(intent.body, ensure_ascii=False))}")
    for failure in report.sync.failures:
        print(f"FAILED: {printable(failure)}")


def _print_status(report: dict[str, Any]) -> None:
    items = report["items"]
    print(f"ledger: {report['ledger']}")
    print(f"items: {items['surat']} surat, {items['disposisi']} disposisi; "
          f"quarantined: {report['quarantined']}")
    print(f"last complete pass: {report['last_complete_pass_at'] or 'never'}")
    print(f"invitations returned by their signer, not sent again: "
          f"{report['invitations_returned']}")
    print("year directories polled (as the last round chose"
          + (f" at {report['polled_decided_at']}):" if report["polled_decided_at"] else "; none yet):"))
    print_table([("year", "directory", "why")]
                + [(str(p["year"]), p["dir"], p["reason"]) for p in report["polled"]])
    rows: list[tuple[str, ...]] = [
        ("list", "year", "watermark", "last page", "last complete pass", "last full pass")
    ]
    for c in report["cursors"]:
        rows.append((c["list"], str(c["year"]), c["watermark"] or "-", str(c["last_page"]),
                     c["last_complete_pass_at"] or "-", c["last_full_pass_at"] or "-"))
    print_table(rows)
