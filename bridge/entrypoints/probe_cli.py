"""``bridge probe``: run the probe and print its report (a table, or JSON)."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable

from bridge.bootstrap import Bridge
from bridge.config.profile import PROFILE_FILE
from bridge.entrypoints.output import print_table
from bridge.logs import configure_logging
from bridge.services.probe import ListReport, Probe, ProbeReport


def run_probe(bridge: Bridge, *, as_json: bool) -> bool:
    """Probe every polled year directory; print the report; True when the profile fits."""
    # Log lines go to stderr, so that stdout holds the report alone (JSON stays parseable).
    configure_logging(fmt=bridge.settings.resolved_log_format, level="WARNING",
                      stream=sys.stderr, redactor=bridge.redactor)
    url, _, _ = bridge.settings.require_sisumaker()
    probe = Probe(bridge.profile, bridge.client_for, base_url=url,
                  profile_file=str(bridge.settings.mappings_dir / PROFILE_FILE))
    report = probe.run(bridge.sync_service().years())
    scrub = bridge.redactor.scrub
    if as_json:
        print(scrub(json.dumps(report.to_dict(), ensure_ascii=True)))
    else:
        _print(report, scrub)
    return report.fits


def _print(report: ProbeReport, clean: Callable[[str], str]) -> None:
    print(f"probe of {report.base_url} with {report.profile}")
    for year in report.years:
        print(f"\n{year.year_dir}: login {clean(year.login)}")
        for entry in year.lists:
            _print_list(entry, clean)
    print("\nrequests:")
    print_table([["request", "ms", "outcome"]] + [
        [clean(t.request), f"{t.seconds * 1000:.0f}", clean(t.outcome)] for t in report.requests
    ], max_width=90)
    if report.fits:
        print("\nthe profile fits: nothing found that it does not describe")
        return
    print(f"\nthe profile does not fit ({len(report.problems)}):")
    for problem in report.problems:
        print(f"  - {clean(problem)}")


def _print_list(entry: ListReport, text: Callable[[str], str]) -> None:
    print(f"  {entry.name}: {entry.pages} page(s), {entry.items} items, {entry.parsed} parsed, "
          f"{entry.quarantined} quarantined")
    if entry.fields:
        rows = [["    field", "key", "present", "types", "dates parsed"]]
        for f in entry.fields:
            dates = (f"{f.dates_parsed}/{f.dates_tried}" if f.dates_tried is not None else "")
            rows.append([f"    {f.field}", f.key, f"{f.present}/{f.items}", ",".join(f.types),
                         dates])
        print_table(rows)
    if entry.unmapped:
        print(f"    keys not mapped: {text('; '.join(entry.unmapped))}")
    for line in entry.paging:
        print(f"    {text(line)}")
