"""The README stays true: every setting the code reads is documented, and nothing documented is gone."""

from __future__ import annotations

import re
from pathlib import Path

from pydantic_settings import BaseSettings

from kairos.appointments.settings import AppointmentsSettings
from kairos.identity.settings import IdentitySettings
from kairos.platform.config import Settings

README = Path(__file__).resolve().parents[2] / "README.md"
NOT_FIELDS = {"KAIROS_SECRETS_DIR"}  # read by load_settings itself
# The platform's settings and each service's own (a prefix of their own).
SETTINGS_CLASSES: tuple[type[BaseSettings], ...] = (Settings, AppointmentsSettings, IdentitySettings)


def documented_variables() -> set[str]:
    return set(re.findall(r"^\| `(KAIROS_[A-Z_]+)` \|", README.read_text(), flags=re.MULTILINE))


def read_variables() -> set[str]:
    variables = set()
    for settings_class in SETTINGS_CLASSES:
        prefix = str(settings_class.model_config.get("env_prefix", ""))
        variables |= {f"{prefix}{name}".upper() for name in settings_class.model_fields}
    return variables


def test_every_setting_is_documented_in_the_readme() -> None:
    assert read_variables() - documented_variables() == set()


def test_the_readme_documents_no_setting_that_does_not_exist() -> None:
    assert documented_variables() - read_variables() - NOT_FIELDS == set()
