"""The README stays true: every setting the code reads is documented, and nothing documented is gone."""

from __future__ import annotations

import re
from pathlib import Path

from kairos.platform.config import Settings

README = Path(__file__).resolve().parents[2] / "README.md"
NOT_FIELDS = {"KAIROS_SECRETS_DIR"}  # read by load_settings itself


def documented_variables() -> set[str]:
    return set(re.findall(r"^\| `(KAIROS_[A-Z_]+)` \|", README.read_text(), flags=re.MULTILINE))


def test_every_setting_is_documented_in_the_readme() -> None:
    fields = {f"KAIROS_{name.upper()}" for name in Settings.model_fields}
    assert fields - documented_variables() == set()


def test_the_readme_documents_no_setting_that_does_not_exist() -> None:
    fields = {f"KAIROS_{name.upper()}" for name in Settings.model_fields}
    assert documented_variables() - fields - NOT_FIELDS == set()
