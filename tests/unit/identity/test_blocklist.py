"""The blocklist ships inside the package, loads once, and is matched case-insensitively by the policy."""

from __future__ import annotations

from importlib import resources

from kairos.identity.blocklist import COMMON_PASSWORDS_FILE, common_passwords
from kairos.identity.domain.passwords import PasswordPolicy, PasswordProblem, folded


def test_the_shipped_list_holds_the_thirty_thousand_most_common_passwords() -> None:
    listed = common_passwords()

    assert len(listed) == 30_000
    assert {"123456", "password", "qwerty", "iloveyou", "trustno1", "letmein"} <= listed


def test_every_entry_is_stored_as_the_policy_compares_it() -> None:
    assert all(entry == folded(entry) and entry.strip() == entry and entry for entry in common_passwords())


def test_the_list_is_read_once() -> None:
    assert common_passwords() is common_passwords()


def test_the_file_stays_small() -> None:
    shipped = resources.files("kairos.identity").joinpath("data", COMMON_PASSWORDS_FILE)

    assert shipped.is_file()
    assert len(shipped.read_bytes()) < 1_000_000


def test_the_policy_refuses_listed_passwords_from_the_shipped_list_in_any_case() -> None:
    policy = PasswordPolicy()

    assert policy.check("LetMeIn1", blocklist=common_passwords(), has_mfa=True).problems == (
        PasswordProblem.COMMONLY_USED,
    )
    assert (
        PasswordProblem.COMMONLY_USED
        in policy.check("Sunshine!! 2024 !", blocklist=common_passwords(), has_mfa=False).problems
    )
    assert policy.check("velvet lantern orbit", blocklist=common_passwords(), has_mfa=False).is_acceptable
