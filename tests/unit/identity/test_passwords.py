"""The password policy of NIST SP 800-63B-4 §3.1.1.2: length in code points, no composition rules, and a
refusal, with reasons, for listed, context-specific, repetitive and sequential passwords."""

from __future__ import annotations

import string
import unicodedata
from collections.abc import Iterable

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from kairos.identity.domain.passwords import (
    PasswordCheck,
    PasswordNotAccepted,
    PasswordPolicy,
    PasswordProblem,
    context_words,
    normalise,
    without_repetition,
    without_sequences,
)

POLICY = PasswordPolicy()
LISTED = frozenset({"password", "monkey", "iloveyou", "123456789", "qwerty", "trustno1", "correcthorse"})


def check(
    password: str, *, has_mfa: bool = False, email: str | None = None, personal_words: Iterable[str] = ()
) -> PasswordCheck:
    return POLICY.check(password, blocklist=LISTED, has_mfa=has_mfa, email=email, personal_words=personal_words)


def problems(
    password: str, *, has_mfa: bool = False, email: str | None = None, personal_words: Iterable[str] = ()
) -> tuple[PasswordProblem, ...]:
    return check(password, has_mfa=has_mfa, email=email, personal_words=personal_words).problems


# --- length -------------------------------------------------------------------------------------------


def test_a_password_without_a_second_factor_needs_fifteen_characters() -> None:
    assert problems("velvet lantern ") == ()
    assert problems("velvet lantern") == (PasswordProblem.TOO_SHORT,)


def test_a_password_with_a_second_factor_needs_eight_characters() -> None:
    assert problems("ruby-fox", has_mfa=True) == ()
    assert problems("rubyfox", has_mfa=True) == (PasswordProblem.TOO_SHORT,)


def test_the_verdict_carries_the_numbers_a_page_needs() -> None:
    verdict = check("short one")

    assert (verdict.length, verdict.minimum_length, verdict.maximum_length) == (9, 15, 128)
    assert check("short one", has_mfa=True).minimum_length == 8


def test_up_to_128_characters_are_allowed_and_no_more() -> None:
    long_enough = "".join(f"{word} " for word in ["marigold", "copper", "lantern", "quietly", "orbit"] * 10)

    assert problems(long_enough[:64]) == ()
    assert problems(long_enough[:128]) == ()
    assert problems(long_enough[:129]) == (PasswordProblem.TOO_LONG,)


def test_length_counts_code_points_after_nfkc_normalisation() -> None:
    decomposed = unicodedata.normalize("NFD", "crème brûlée à la")  # 17 characters, 21 code points in NFD
    assert len(decomposed) > 17
    assert check(decomposed).length == 17
    assert check("🦉🦊🐙🦀🐝🦋🐌🐞").length == 8
    assert check("ﬁnest ﬂour").length == 12  # the ligatures become two letters each


def test_an_over_long_password_is_refused_without_analysing_it_further() -> None:
    assert problems("a" * 100_000) == (PasswordProblem.TOO_LONG,)


# --- characters: everything printable, no composition rules --------------------------------------------


@pytest.mark.parametrize("character", [*string.digits, *string.ascii_letters, *string.punctuation, " "])
def test_every_printing_ascii_character_and_the_space_are_allowed(character: str) -> None:
    assert problems(f"quiet harbour {character} lamp") == ()


@pytest.mark.parametrize(
    "password",
    [
        "пароль для кабинета",
        "παράθυρο στη θάλασσα",
        "日本語のパスワードです、長いです",
        "🦉 owls at dusk 🌙🌲",
        "zaﬁrowe okno dworca",
    ],
)
def test_unicode_passwords_are_allowed(password: str) -> None:
    assert problems(password) == ()


@pytest.mark.parametrize(
    "password",
    ["only lowercase letters here", "ONLY CAPITALS IN THIS ONE", "8302 9185 4471 0366", "#&!?*@ %$^~ ;:<>"],
)
def test_no_composition_rules_apply(password: str) -> None:
    assert problems(password) == ()


@pytest.mark.parametrize("character", ["\t", "\n", "\x00", "\x7f", "\ud800", "\u0378", "\u2028", "\u2029"])
def test_control_surrogate_unassigned_and_separator_characters_are_refused(character: str) -> None:
    assert PasswordProblem.UNSUPPORTED_CHARACTER in problems(f"quiet harbour{character}lamp")


# --- the blocklist ------------------------------------------------------------------------------------


def test_a_listed_password_is_refused_in_any_case() -> None:
    assert problems("PassWord", has_mfa=True) == (PasswordProblem.COMMONLY_USED,)
    assert problems("TRUSTNO1", has_mfa=True) == (PasswordProblem.COMMONLY_USED,)


def test_a_listed_password_is_refused_in_a_compatibility_form() -> None:
    assert problems("ｐａｓｓｗｏｒｄ", has_mfa=True) == (PasswordProblem.COMMONLY_USED,)


@pytest.mark.parametrize("password", ["Monkey#2019-07-14", "  iloveyou  1989 !", "!?123456789?!", "correcthorse 1983!"])
def test_a_listed_password_padded_with_digits_punctuation_or_spaces_is_refused(password: str) -> None:
    assert PasswordProblem.COMMONLY_USED in problems(password)


def test_a_listed_password_is_refused_even_when_too_short() -> None:
    assert problems("monkey") == (PasswordProblem.TOO_SHORT, PasswordProblem.COMMONLY_USED)


@pytest.mark.parametrize("password", ["correct horse password staple", "my monkey likes jazz", "iloveyouandthesea"])
def test_a_listed_word_inside_a_longer_password_is_not_a_reason_to_refuse(password: str) -> None:
    # 800-63B-4 §3.1.1.2: "The entire password SHALL be subject to comparison, not substrings".
    assert problems(password) == ()


# --- context-specific words ---------------------------------------------------------------------------


def test_the_words_an_attacker_would_try_come_from_the_service_and_the_address() -> None:
    assert context_words(email="Jane.Doe+kairos@Example.org") == {"kairos", "jane.doe", "janedoe", "jane", "doe"}
    assert context_words(email="jd1985@example.org", personal_words=["Okonkwo"]) == {"kairos", "jd1985", "okonkwo"}


@pytest.mark.parametrize(
    "password",
    ["kairos-2024-09-15!", "KairosKairos2024!!", "jane.doe.kairos.1", "Jane_Doe_1985_!!!!", "janedoe@example.org"],
)
def test_a_password_made_of_context_words_is_refused(password: str) -> None:
    assert PasswordProblem.CONTEXT_SPECIFIC in problems(password, email="jane.doe@example.org")


def test_personal_words_count_as_context() -> None:
    assert PasswordProblem.CONTEXT_SPECIFIC in problems("Okonkwo-Okafor 77", personal_words=["okonkwo", "okafor"])


def test_a_long_passphrase_may_contain_a_context_word() -> None:
    assert problems("kairos keeps my calendar tidy", email="jane.doe@example.org") == ()


def test_context_words_do_not_count_towards_the_shorter_minimum_either() -> None:
    assert problems("doe!kairos", has_mfa=True, email="jane.doe@example.org") == (PasswordProblem.CONTEXT_SPECIFIC,)
    assert problems("doe!kairos!lantern", has_mfa=True, email="jane.doe@example.org") == ()


# --- repetition and sequences -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "password",
    ["aaaaaaaaaaaaaaaa", "zzzzzzzzzzzzzzzzzzzzzz1", "abababababababab", "passwordpassword", "hahahahaha lol!!!"],
)
def test_repetitive_passwords_are_refused(password: str) -> None:
    assert PasswordProblem.REPETITIVE in problems(password)


@pytest.mark.parametrize(
    "password",
    [
        "12345678901234567",
        "abcdefghijklmnopq",
        "9876543210987654",
        "qwertyuiopasdfghjkl",
        "αβγδεζηθικλμνξοπ",
        "azertyuiop-qsdfghjklm",
    ],
)
def test_sequential_passwords_are_refused(password: str) -> None:
    assert PasswordProblem.SEQUENTIAL in problems(password)


@pytest.mark.parametrize(
    "password", ["bookkeeper committee", "my first defense", "liberty bell rings", "mississippi river bank"]
)
def test_ordinary_words_are_not_mistaken_for_repetition_or_sequences(password: str) -> None:
    assert problems(password) == ()


def test_repetition_and_sequences_are_discounted_not_forbidden() -> None:
    assert without_repetition("aaaaaaab") == "ab"
    assert without_repetition("passwordpassword") == "password"
    assert without_sequences("qwerty2024") == "q2024"
    assert without_sequences("abc") == "abc"  # three in a row is too common in words to count
    assert problems("aaaa velvet lantern orbit") == ()


# --- the verdict --------------------------------------------------------------------------------------


def test_problems_are_stable_codes_a_page_can_translate() -> None:
    assert [problem.value for problem in PasswordProblem] == [
        "too_short",
        "too_long",
        "unsupported_character",
        "commonly_used",
        "context_specific",
        "repetitive",
        "sequential",
    ]


def test_an_unacceptable_password_raises_with_its_problems_and_never_the_password() -> None:
    verdict = check("iloveyou", has_mfa=True)

    with pytest.raises(PasswordNotAccepted) as raised:
        verdict.raise_if_not_acceptable()

    assert raised.value.check is verdict
    assert str(raised.value) == "commonly_used"
    check("velvet lantern orbit").raise_if_not_acceptable()


@pytest.mark.parametrize(
    "settings",
    [
        {"multi_factor_minimum_length": 6},
        {"single_factor_minimum_length": 12},
        {"multi_factor_minimum_length": 20, "single_factor_minimum_length": 16},
        {"maximum_length": 32},
    ],
)
def test_a_policy_weaker_than_the_standard_cannot_be_configured(settings: dict[str, int]) -> None:
    with pytest.raises(ValueError, match="800-63B-4"):
        PasswordPolicy(**settings)  # type: ignore[arg-type]


# --- properties ---------------------------------------------------------------------------------------

KEYBOARD_ROWS = [
    "1234567890",
    "qwertyuiop",
    "asdfghjkl",
    "zxcvbnm",
    "qwertzuiop",
    "yxcvbnm",
    "azertyuiop",
    "qsdfghjklm",
]


def _neighbours(first: str, second: str) -> bool:
    if abs(ord(first) - ord(second)) <= 1:
        return True
    return any(first + second in row or second + first in row for row in [*KEYBOARD_ROWS, "01"])


def _spread_alphabet() -> list[str]:
    """Characters no two of which are neighbours in code points or on a keyboard, so that no arrangement of
    distinct ones can be repetitive or sequential."""
    pool = (
        string.ascii_letters
        + string.digits
        + string.punctuation
        + " "
        + "αγεηιλνοσυχωжлнпрткдфあかさたなはまやらわ🦉🌙"
    )
    chosen: list[str] = []
    for character in pool:
        comparable = normalise(character).casefold()
        if len(comparable) != 1 or normalise(character) != character:
            continue
        if all(not _neighbours(comparable, other) and comparable != other for other in chosen):
            chosen.append(comparable)
    return chosen


SPREAD = _spread_alphabet()


def test_the_spread_alphabet_is_large_enough_to_test_with() -> None:
    assert len(SPREAD) >= 40


@given(st.lists(st.sampled_from(SPREAD), min_size=15, max_size=len(SPREAD), unique=True))
def test_any_long_enough_password_that_is_not_listed_repetitive_or_sequential_is_accepted(
    characters: list[str],
) -> None:
    password = "".join(characters)

    assert POLICY.check(password, blocklist=frozenset(), has_mfa=False).problems == ()


@given(st.lists(st.sampled_from(SPREAD), min_size=8, max_size=14, unique=True))
def test_with_a_second_factor_eight_such_characters_are_enough(characters: list[str]) -> None:
    password = "".join(characters)

    assert POLICY.check(password, blocklist=frozenset(), has_mfa=True).is_acceptable
    assert POLICY.check(password, blocklist=frozenset(), has_mfa=False).problems == (PasswordProblem.TOO_SHORT,)


@given(st.text())
def test_normalisation_is_idempotent(text: str) -> None:
    assert normalise(normalise(text)) == normalise(text)


@given(st.text(max_size=40), st.booleans())
def test_the_verdict_does_not_depend_on_the_unicode_form_typed(text: str, has_mfa: bool) -> None:
    for form in ("NFC", "NFD", "NFKD"):
        assert check(unicodedata.normalize(form, text), has_mfa=has_mfa) == check(text, has_mfa=has_mfa)


@given(st.text(max_size=30), st.booleans())
def test_too_short_means_fewer_code_points_than_the_minimum(text: str, has_mfa: bool) -> None:
    verdict = check(text, has_mfa=has_mfa)

    assert (PasswordProblem.TOO_SHORT in verdict.problems) == (len(normalise(text)) < verdict.minimum_length)


@given(st.sampled_from(sorted(LISTED)), st.data())
def test_listed_passwords_are_refused_whatever_their_case(listed: str, data: st.DataObject) -> None:
    flips = data.draw(st.lists(st.booleans(), min_size=len(listed), max_size=len(listed)))
    typed = "".join(c.upper() if flip else c for c, flip in zip(listed, flips, strict=True))
    assume(len(typed) >= 8)

    assert PasswordProblem.COMMONLY_USED in check(typed, has_mfa=True).problems
