"""What makes a password acceptable when someone chooses one (NIST SP 800-63B-4 §3.1.1.2; ASVS 5.0 V6.2).

- Length counts Unicode code points after NFKC normalisation; at least 15, or 8 when the account also
  has a second factor; up to 128, so that 64 (the standard's floor for the maximum) always fits.
- Every printing character is allowed, spaces included; no composition rules ("one digit, one capital").
  Only control characters, lone surrogates, unassigned code points and line or paragraph separators
  are refused: none can be typed reliably, and unassigned ones would normalise differently once Unicode
  assigns them (UAX #15 §12.1, stabilised strings).
- The whole password is compared with the blocklist, case-insensitively. A listed password padded out
  with digits, punctuation or spaces at either end counts as listed too: stretching a short favourite
  to the minimum length that way is among the first rules guessing tools apply.
- Context-specific words (the service's name, the e-mail address's local part and its pieces, any
  personal words the caller passes) and stretches of repetition ("aaaa", "abcabcabc") or sequence
  ("abcd", "4321", "qwerty") add nothing an attacker would not guess, so they do not count towards the
  minimum length: a password is refused when what remains without them is too short. A long passphrase
  that merely contains such a word is accepted, as §3.1.1.2 asks ("not substrings or words").
  ``SERVICE_WORDS`` and ``context_words`` are the documented list of context-specific words that ASVS 5.0
  V6.1.2 and V6.2.11 ask for.

The result lists every problem as a code that a sign-in page translates; nothing here is a message.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Container, Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import TypeAlias

SINGLE_FACTOR_MINIMUM_LENGTH = 15
MULTI_FACTOR_MINIMUM_LENGTH = 8
MAXIMUM_LENGTH = 128
SERVICE_WORDS = frozenset({"kairos"})

# Runs of three are everywhere in ordinary words ("first", "answer", "define"); runs of four rarely are.
SHORTEST_SEQUENCE = 4

# Shorter context words would mostly discount ordinary syllables ("jo", "an") from honest passphrases.
SHORTEST_CONTEXT_WORD = 3

# A password is checked against the blocklist after NFKC normalisation and case folding; entries must be
# stored the same way (kairos.identity.blocklist does). Any container works: a frozenset, a Bloom filter…
Blocklist: TypeAlias = Container[str]


class PasswordProblem(StrEnum):
    TOO_SHORT = "too_short"
    TOO_LONG = "too_long"
    UNSUPPORTED_CHARACTER = "unsupported_character"
    COMMONLY_USED = "commonly_used"
    CONTEXT_SPECIFIC = "context_specific"
    REPETITIVE = "repetitive"
    SEQUENTIAL = "sequential"


@dataclass(frozen=True)
class PasswordCheck:
    """The verdict on a proposed password, with the numbers a page needs to explain it."""

    problems: tuple[PasswordProblem, ...]
    length: int
    minimum_length: int
    maximum_length: int

    @property
    def is_acceptable(self) -> bool:
        return not self.problems

    def raise_if_not_acceptable(self) -> None:
        if self.problems:
            raise PasswordNotAccepted(self)


class PasswordNotAccepted(Exception):
    """A chosen password breaks the policy; ``check.problems`` says how (and never holds the password)."""

    def __init__(self, check: PasswordCheck) -> None:
        super().__init__(", ".join(check.problems))
        self.check = check


def normalise(password: str) -> str:
    """The form a password is measured, compared and hashed in (800-63B-4 §3.1.1.2: NFKC or NFKD)."""
    return unicodedata.normalize("NFKC", password)


def folded(text: str) -> str:
    """The case-insensitive form used for every comparison (blocklist, context words, patterns)."""
    return normalise(text).casefold()


@dataclass(frozen=True)
class PasswordPolicy:
    single_factor_minimum_length: int = SINGLE_FACTOR_MINIMUM_LENGTH
    multi_factor_minimum_length: int = MULTI_FACTOR_MINIMUM_LENGTH
    maximum_length: int = MAXIMUM_LENGTH
    service_words: frozenset[str] = SERVICE_WORDS

    def __post_init__(self) -> None:
        # The SHALLs and SHOULDs of §3.1.1.2 are the floor; a deployment may only be stricter.
        if self.multi_factor_minimum_length < MULTI_FACTOR_MINIMUM_LENGTH:
            raise ValueError("passwords shall be at least 8 characters long (800-63B-4 §3.1.1.2)")
        if self.single_factor_minimum_length < max(SINGLE_FACTOR_MINIMUM_LENGTH, self.multi_factor_minimum_length):
            raise ValueError("single-factor passwords shall be at least 15 characters long (800-63B-4 §3.1.1.2)")
        if self.maximum_length < 64:
            raise ValueError("the maximum length should allow at least 64 characters (800-63B-4 §3.1.1.2)")

    def minimum_length(self, *, has_mfa: bool) -> int:
        return self.multi_factor_minimum_length if has_mfa else self.single_factor_minimum_length

    def check(
        self,
        password: str,
        *,
        blocklist: Blocklist,
        has_mfa: bool,
        email: str | None = None,
        personal_words: Iterable[str] = (),
    ) -> PasswordCheck:
        """Every problem with ``password`` for an account with (or without) a second factor."""
        minimum = self.minimum_length(has_mfa=has_mfa)
        normalised = normalise(password)
        length = len(normalised)
        problems: set[PasswordProblem] = set()
        if length < minimum:
            problems.add(PasswordProblem.TOO_SHORT)
        if length > self.maximum_length:
            problems.add(PasswordProblem.TOO_LONG)
        else:  # an over-long submission is not analysed further, which bounds the work it can cause
            if any(not _is_supported(character) for character in normalised):
                problems.add(PasswordProblem.UNSUPPORTED_CHARACTER)
            comparable = normalised.casefold()
            if _is_commonly_used(comparable, blocklist):
                problems.add(PasswordProblem.COMMONLY_USED)
            if length >= minimum:
                words = context_words(email=email, personal_words=personal_words, service_words=self.service_words)
                without_context = _without_words(comparable, words)
                if without_context != comparable and len(without_context) < minimum:
                    problems.add(PasswordProblem.CONTEXT_SPECIFIC)
                if len(without_repetition(comparable)) < minimum:
                    problems.add(PasswordProblem.REPETITIVE)
                if len(without_sequences(comparable)) < minimum:
                    problems.add(PasswordProblem.SEQUENTIAL)
        return PasswordCheck(
            problems=tuple(problem for problem in PasswordProblem if problem in problems),
            length=length,
            minimum_length=minimum,
            maximum_length=self.maximum_length,
        )


def context_words(
    *,
    email: str | None = None,
    personal_words: Iterable[str] = (),
    service_words: Iterable[str] = SERVICE_WORDS,
) -> frozenset[str]:
    """The words an attacker who knows the account and the service would try first, folded.

    From ``jane.doe+kairos@example.org``: ``jane.doe``, ``janedoe``, ``jane`` and ``doe``.
    """
    words: set[str] = set()
    for word in [*service_words, *personal_words]:
        words.add(folded(word))
    if email:
        local_part = folded(email).rpartition("@")[0] or folded(email)
        local_part = local_part.split("+", 1)[0]
        pieces = [piece for piece in re.split(r"[\W_\d]+", local_part) if piece]
        words.update({local_part, "".join(pieces), *pieces})
    return frozenset(word for word in words if len(word) >= SHORTEST_CONTEXT_WORD)


def without_repetition(text: str) -> str:
    """``text`` with each unit repeated three or more times in a row kept once, and a text that is one
    unit said twice (or more) reduced to that unit: "aaaaaaab" → "ab", "passwordpassword" → "password"."""
    collapsed = _REPEATED_UNIT.sub(lambda repeat: repeat.group(1), text)
    period = _smallest_period(collapsed)
    return collapsed[:period] if 2 * period <= len(collapsed) else collapsed


def without_sequences(text: str) -> str:
    """``text`` with each run of four or more characters in sequence kept as its first character:
    ascending or descending code points ("abcd", "9876", "αβγ") or neighbours along a keyboard row
    (QWERTY, QWERTZ, AZERTY, the digit row): "qwerty2024" → "q2024"."""
    kept: list[str] = []
    start = 0
    while start < len(text):
        run = max(_run_length(text, start, follows) for follows in _SEQUENCES)
        kept.append(text[start])
        start += run if run >= SHORTEST_SEQUENCE else 1
    return "".join(kept)


_REPEATED_UNIT = re.compile(r"(.+?)\1{2,}", re.DOTALL)

# Control characters, surrogates, unassigned code points, line and paragraph separators.
_UNSUPPORTED_CATEGORIES = frozenset({"Cc", "Cs", "Cn", "Zl", "Zp"})

# Rows of QWERTY, QWERTZ and AZERTY keyboards, read left to right; the digit row wraps round ("8901").
_KEYBOARD_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm", "qwertzuiop", "yxcvbnm", "azertyuiop", "qsdfghjklm", "wxcvbn")
_DIGIT_ROW = "1234567890"
_KEYBOARD_FORWARD = frozenset(
    {(row[index], row[index + 1]) for row in _KEYBOARD_ROWS for index in range(len(row) - 1)}
    | {(_DIGIT_ROW[index - 1], _DIGIT_ROW[index]) for index in range(len(_DIGIT_ROW))}
)
_KEYBOARD_BACKWARD = frozenset((after, before) for before, after in _KEYBOARD_FORWARD)

_SEQUENCES: tuple[Callable[[str, str], bool], ...] = (
    lambda before, after: ord(after) - ord(before) == 1,
    lambda before, after: ord(before) - ord(after) == 1,
    lambda before, after: (before, after) in _KEYBOARD_FORWARD,
    lambda before, after: (before, after) in _KEYBOARD_BACKWARD,
)


def _is_supported(character: str) -> bool:
    return unicodedata.category(character) not in _UNSUPPORTED_CATEGORIES


def _is_letter(character: str) -> bool:
    return unicodedata.category(character).startswith("L")


def _is_padding(character: str) -> bool:
    # Punctuation, symbols and spaces: what people add around a word they already use.
    return unicodedata.category(character)[0] in "PSZ"


def _is_commonly_used(comparable: str, blocklist: Blocklist) -> bool:
    candidates = {
        comparable,
        _strip(comparable, keep=_is_letter),
        _strip(comparable, keep=lambda character: not _is_padding(character)),
    }
    return any(candidate in blocklist for candidate in candidates if candidate)


def _strip(text: str, *, keep: Callable[[str], bool]) -> str:
    start, end = 0, len(text)
    while start < end and not keep(text[start]):
        start += 1
    while end > start and not keep(text[end - 1]):
        end -= 1
    return text[start:end]


def _without_words(text: str, words: Iterable[str]) -> str:
    for word in sorted(words, key=len, reverse=True):
        text = text.replace(word, "")
    return text


def _smallest_period(text: str) -> int:
    """The length of the shortest prefix that, repeated, spells ``text`` (Knuth–Morris–Pratt borders)."""
    if not text:
        return 0
    border = [0] * len(text)
    matched = 0
    for index in range(1, len(text)):
        while matched and text[index] != text[matched]:
            matched = border[matched - 1]
        if text[index] == text[matched]:
            matched += 1
        border[index] = matched
    return len(text) - border[-1]


def _run_length(text: str, start: int, follows: Callable[[str, str], bool]) -> int:
    end = start + 1
    while end < len(text) and follows(text[end - 1], text[end]):
        end += 1
    return end - start
