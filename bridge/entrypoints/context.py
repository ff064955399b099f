"""What a command's handler is given, set as the ``needs`` default of its parser."""

from __future__ import annotations

# The handler takes a bootstrap.LedgerAccess: the ledger alone, no other setting read, no
# mapping file loaded, nothing logged. For the commands that only read the ledger.
LEDGER = "ledger"
# The handler takes the whole bootstrap.Bridge: every setting, the mapping files, logging.
BRIDGE = "bridge"
