"""Adapters: the Sisumaker HTTP client and the ledger stores."""
