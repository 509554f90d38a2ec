"""The rules around passkeys (kairos.identity.domain.passkeys)."""

from __future__ import annotations

import pytest

from kairos.identity.domain.passkeys import (
    MAX_PASSKEYS_PER_ACCOUNT,
    TooManyPasskeys,
    check_room_for_another,
    relying_party,
    sign_in_methods,
)


def test_the_relying_party_is_the_public_urls_host_and_origin() -> None:
    rp = relying_party("https://kairos.example.org/api/v1/identity")
    assert (rp.id, rp.origin) == ("kairos.example.org", "https://kairos.example.org")
    local = relying_party("http://localhost:8000/api/v1/identity")
    assert (local.id, local.origin) == ("localhost", "http://localhost:8000")
    with pytest.raises(ValueError, match="http"):
        relying_party("kairos.example.org")


def test_an_account_keeps_a_bounded_number_of_passkeys() -> None:
    check_room_for_another(MAX_PASSKEYS_PER_ACCOUNT - 1)
    with pytest.raises(TooManyPasskeys):
        check_room_for_another(MAX_PASSKEYS_PER_ACCOUNT)


def test_only_a_verified_person_makes_a_passkey_two_factors() -> None:
    assert sign_in_methods(user_verified=True) == ("hwk", "mfa")
    assert sign_in_methods(user_verified=False) == ("hwk",)
