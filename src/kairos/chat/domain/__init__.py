"""Plain-Python domain model of the chat service: no I/O, no framework."""
