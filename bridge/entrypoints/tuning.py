"""Process-wide tuning that only the commands reading pages from Sisumaker ask for."""

from __future__ import annotations

import sys

# Measured by bench/first_sync.py (whole processes, median of 3): see favour_the_reader_thread.
READER_SWITCH_INTERVAL_S = 0.0005


def favour_the_reader_thread() -> None:
    """Shorten the GIL switch interval for a pass that reads the next page on a second thread.

    While one page is stored, the next is fetched on a second thread; with the default 5 ms
    interval that thread waits up to 5 ms for the GIL each time an answer arrives.
    FIGURE
    Only sync, run and resync set it: the other commands never start that thread.
    """
    sys.setswitchinterval(READER_SWITCH_INTERVAL_S)
