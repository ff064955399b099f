"""Settings and mapping files: read once at start-up, immutable afterwards."""
