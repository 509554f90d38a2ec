"""Start Kairos the way an operator does — the `kairos` command in its own process — and wait for it."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil

from kairos.platform.config import SERVICES

ROOT = Path(__file__).resolve().parents[2]


def free_base_port() -> int:
    """A base port with the eight ports after it free on loopback."""
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            base = probe.getsockname()[1]
        if base + len(SERVICES) < 65000 and all(_is_free(base + offset) for offset in range(len(SERVICES))):
            return base
    raise RuntimeError("no free port range")


def _is_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


class KairosProcess:
    def __init__(self, args: list[str], env: dict[str, str], log_path: Path) -> None:
        self.args = args
        self.env = {**os.environ, **env}
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> KairosProcess:
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "kairos", *self.args],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=log,
            start_new_session=True,  # its own process group: kill() takes the services it started too
        )
        return self

    def wait_ready(self, url: str, *, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise AssertionError(f"kairos exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                if httpx.get(url, timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"{url} not ready after {timeout}s:\n{self.log_tail()}")

    def interrupt(self, *, timeout: float = 30.0) -> int:
        """Ctrl-C, as an operator would; return the exit code."""
        assert self.process is not None
        self.process.send_signal(signal.SIGINT)
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise AssertionError(f"kairos did not stop within {timeout}s:\n{self.log_tail()}") from None

    def kill(self) -> None:
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
        self._stop_embedded_postgres()

    def _stop_embedded_postgres(self) -> None:
        """The embedded PostgreSQL daemonises out of the process group: after a kill (a failed test) nothing
        else would stop it. SIGQUIT is PostgreSQL's immediate shutdown."""
        data_dir = self.env.get("KAIROS_DATA_DIR")
        if not data_dir:
            return
        for pid_file in Path(data_dir).glob("**/postmaster.pid"):
            with contextlib.suppress(OSError, ValueError, IndexError, psutil.Error):
                postmaster = psutil.Process(int(pid_file.read_text().split()[0]))
                if "postgres" in postmaster.name():  # not a stale file's pid, since reused by another process
                    postmaster.send_signal(signal.SIGQUIT)

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


def wait_until(predicate, *, timeout: float = 30.0, interval: float = 0.2):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(interval)
