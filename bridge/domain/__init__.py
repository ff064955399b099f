"""The domain core: letters, dispositions, the ledger's records. Imports no I/O."""
