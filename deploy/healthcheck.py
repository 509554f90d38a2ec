"""Container health check: GET a health path of the Kairos process in this container; exit 0 if it answers 200.

Usage: ``python /app/healthcheck.py [PATH]`` (default ``/health/live``; compose uses ``/health/ready``).

The image runs any service (``kairos run <service>``) and each service listens on its own port, so the
port is found the way the service finds it: ``KAIROS_PORT`` if set, else ``KAIROS_BASE_PORT`` (8000) plus
the service's index, the service being read from the container's main process (``/proc/1/cmdline``).
Standard library only: it runs every few seconds and must not import the application.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path

# Same order as kairos.platform.config.SERVICES (a unit test keeps them equal).
SERVICES = ("gateway", "identity", "appointments", "chat", "notifications", "documents", "assistant", "monitoring")
DEFAULT_BASE_PORT = 8000
TIMEOUT_SECONDS = 3.0


def target_of(argv: Sequence[str]) -> str:
    """The first argument after ``run`` that is not an option, in ``kairos run [--no-migrate] <target>``;
    ``gateway`` when there is none (``kairos run`` alone is the all-in-one shape, on the gateway's port)."""
    if "run" in argv:
        for argument in argv[list(argv).index("run") + 1 :]:
            if not argument.startswith("-"):
                return argument
    return "gateway"


def port_for(target: str, environ: Mapping[str, str]) -> int:
    if environ.get("KAIROS_PORT"):
        return int(environ["KAIROS_PORT"])
    base = int(environ.get("KAIROS_BASE_PORT") or DEFAULT_BASE_PORT)
    # all-in-one and distributed answer on the gateway's port
    return base + (SERVICES.index(target) if target in SERVICES else 0)


def main_process_argv() -> list[str]:
    try:
        raw = Path("/proc/1/cmdline").read_bytes()
    except OSError:
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def check(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310 (http to loopback)
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError, ValueError):
        return False


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    env = os.environ if environ is None else environ
    path = args[0] if args else "/health/live"
    port = port_for(target_of(main_process_argv()), env)
    return 0 if check(f"http://127.0.0.1:{port}{path}") else 1


if __name__ == "__main__":
    sys.exit(main())
