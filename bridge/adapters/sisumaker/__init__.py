"""The Sisumaker HTTP client."""
