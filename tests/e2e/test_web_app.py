"""The web app in a real browser against the all-in-one shape: Playwright (web/e2e) drives Debian's Chromium.

The backend starts as `make run` starts it (its own data directory and ports); the browser tests sign in as
the demo patient through identity, find a professional and a free time, request an appointment, see it in
"my appointments" and cancel it; the patient requests another, which the demo professional (with the TOTP
second factor) approves in the inbox and finds in the agenda while the patient's page turns "booked" live;
the professional changes a working week. They check accessibility with axe-core and save screenshots of the
main pages to test-artifacts/web/.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.e2e.processes import ROOT, KairosProcess, free_base_port

pytestmark = pytest.mark.e2e

WEB = ROOT / "web"
ARTIFACTS = ROOT / "test-artifacts" / "web"
PLAYWRIGHT = WEB / "node_modules" / ".bin" / "playwright"
CHROMIUM = Path("/usr/bin/chromium")


def test_a_patient_uses_the_web_app_in_a_browser(tmp_path: Path) -> None:
    for needed, how in (
        (WEB / "dist" / "index.html", "make web"),
        (PLAYWRIGHT, "make web"),
        (CHROMIUM, "bash scripts/system-packages.sh"),
    ):
        assert needed.exists(), f"{needed} is missing: run `{how}` (make test does)"
    base_port = free_base_port()
    gateway = f"http://localhost:{base_port}"  # as `make run` prints it: passkeys need a host name
    env = {
        "KAIROS_DATA_DIR": str(tmp_path / "data"),
        "KAIROS_BASE_PORT": str(base_port),  # the demo web client's redirect URIs follow it
        "KAIROS_LOG_LEVEL": "WARNING",
        "KAIROS_DATABASE_URL": "",
        "KAIROS_TRANSPORT": "",
    }
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    kairos = KairosProcess(["run"], env, tmp_path / "kairos.log").start()
    try:
        kairos.wait_ready(f"{gateway}/health/ready")
        browser = subprocess.run(
            [str(PLAYWRIGHT), "test"],
            cwd=WEB,
            env={**kairos.env, "KAIROS_WEB_URL": gateway, "KAIROS_ARTIFACTS": str(ARTIFACTS), "CI": "1"},
            capture_output=True,
            text=True,
            timeout=480,
            check=False,
        )
        assert kairos.interrupt() == 0  # Ctrl-C: the embedded PostgreSQL stops with it
    finally:
        kairos.kill()
    assert browser.returncode == 0, f"{browser.stdout}\n{browser.stderr}\n--- kairos log ---\n{kairos.log_tail()}"
    screenshots = {path.stem for path in ARTIFACTS.glob("*.png")}
    assert {
        "01-landing",
        "02-identity-sign-in",
        "03-signed-in",
        "04-find-professional",
        "05-request-form",
        "06-appointment",
        "07-cancelled",
        "08-availability",
        "09-my-appointments",
        "10-inbox",
        "11-agenda",
        "12-patient-sees-booked",
        *("20-account", "21-account-fr", "30-admin-domains", "31-admin-form-preview", "32-admin-saved"),
        *("40-bulk-preview", "41-bulk-applied", "42-bulk-undone"),
        *(
            "50-account-security",
            "51-account-passkeys",
            "52-verification-queue",
            "53-verification-decided",
            "54-admin-workflow",
        ),
    } <= screenshots
