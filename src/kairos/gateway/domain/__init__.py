"""The gateway's decisions in plain Python: which instance takes a request, when an instance is out of
rotation, when its circuit is open. No I/O, no framework; the clock is passed in."""
