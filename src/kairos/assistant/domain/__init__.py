"""Plain-Python domain model of the assistant service: no I/O, no framework."""
