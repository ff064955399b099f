"""Entry points: the command line, and later the health and metrics server."""
