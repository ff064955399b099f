"""Services: parse, poll, sync, track cases, push. They depend on ports, not adapters."""
