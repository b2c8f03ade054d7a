"""Non-face credential secrets: PIN rules and hashing, one-time codes, card numbers.

PINs are hashed with argon2id (``SecretHasher``); card numbers and one-time codes are looked
up by a keyed hash (``SiteKey.lookup_hash``) and never stored in clear. No message here ever
repeats a secret back: errors say what rule failed, not what was typed.
"""

from __future__ import annotations

import itertools
import re
import secrets

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from facegate.errors import IntegrityViolationError, InvalidRecordError

# argon2id at RFC 9106's second recommended option (64 MiB, 3 passes, 4 lanes): about
# 0.1 s per hash on one core, so a stolen hash of a 6-digit PIN costs real time to search;
# the keyed pre-hash (see ``store.credentials``) makes it impossible without the site key.
ARGON2_TIME_COST = 3
ARGON2_MEMORY_KIB = 64 * 1024
ARGON2_PARALLELISM = 4
ARGON2_HASH_BYTES = 32
ARGON2_SALT_BYTES = 16

MIN_PIN_DIGITS = 6
#: Longer input is refused before hashing, so nobody can make the gate hash megabytes.
MAX_PIN_DIGITS = 12
#: Blocks this short, repeated, make a trivial PIN (121212, 123123).
MAX_REPEATED_BLOCK = 3
#: PINs people pick first (beyond the patterns ``is_trivial_pin`` catches).
COMMON_PINS = frozenset(
    {"112233", "123321", "147258", "159357", "520520", "5201314", "1314520", "147258369"}
)

OTP_DIGITS = 8
MIN_CARD_CHARS = 4
MAX_CARD_CHARS = 64

_DIGITS = re.compile(r"[0-9]+")
_CARD = re.compile(rf"[0-9A-Z]{{{MIN_CARD_CHARS},{MAX_CARD_CHARS}}}")
#: Separators people type or cards print inside a number; dropped before hashing.
_CARD_SEPARATORS = re.compile(r"[\s-]+")


def check_pin(pin: str) -> str:
    """``pin`` if it may be set: ASCII digits only, 6-12 of them, and not trivially weak."""
    shape_ok = isinstance(pin, str) and _DIGITS.fullmatch(pin) is not None
    if not shape_ok or not MIN_PIN_DIGITS <= len(pin) <= MAX_PIN_DIGITS:
        raise InvalidRecordError(
            f"a PIN is {MIN_PIN_DIGITS} to {MAX_PIN_DIGITS} digits (0-9), nothing else",
            reason="pin_format",
        )
    if is_trivial_pin(pin):
        raise InvalidRecordError(
            "this PIN is too easy to guess (one digit repeated, an ascending or descending "
            "run, a short repeated block or a common choice): choose another",
            reason="pin_too_easy",
        )
    return pin


def check_pin_attempt(pin: str) -> str:
    """A PIN typed at a gate: digits only and not over the maximum length (else refused)."""
    if not isinstance(pin, str) or not _DIGITS.fullmatch(pin) or len(pin) > MAX_PIN_DIGITS:
        raise InvalidRecordError(
            f"a PIN is 1 to {MAX_PIN_DIGITS} digits (0-9)", reason="pin_attempt_format"
        )
    return pin


def is_trivial_pin(pin: str) -> bool:
    """One digit repeated, an ascending or descending run (wrapping 9→0), a short block
    repeated, or a common choice."""
    if pin in COMMON_PINS:
        return True
    steps = {(int(b) - int(a)) % 10 for a, b in itertools.pairwise(pin)}
    if steps in ({0}, {1}, {9}):
        return True
    return any(
        len(pin) % size == 0 and pin == pin[:size] * (len(pin) // size)
        for size in range(1, MAX_REPEATED_BLOCK + 1)
    )


def normalize_card_number(number: str) -> str:
    """A card number as hashed: separators dropped, upper case, 4-64 letters or digits."""
    text = _CARD_SEPARATORS.sub("", number).upper() if isinstance(number, str) else ""
    if not _CARD.fullmatch(text):
        raise InvalidRecordError(
            f"a card number is {MIN_CARD_CHARS} to {MAX_CARD_CHARS} letters or digits",
            reason="card_format",
        )
    return text


def new_otp_code() -> str:
    """A fresh one-time code: ``OTP_DIGITS`` decimal digits from the OS's CSPRNG."""
    return f"{secrets.randbelow(10**OTP_DIGITS):0{OTP_DIGITS}d}"


def check_otp_code(code: str) -> str:
    """A presented one-time code: exactly ``OTP_DIGITS`` digits (spaces around ignored)."""
    text = code.strip() if isinstance(code, str) else ""
    if len(text) != OTP_DIGITS or not _DIGITS.fullmatch(text):
        raise InvalidRecordError(f"a one-time code is {OTP_DIGITS} digits", reason="otp_format")
    return text


class SecretHasher:
    """argon2id hashing and verification of short secrets (PINs).

    ``verify`` compares in constant time (inside argon2); ``burn`` does the work of a failed
    verification, so an unknown subject answers as slowly as a wrong PIN.
    """

    def __init__(
        self,
        *,
        time_cost: int = ARGON2_TIME_COST,
        memory_kib: int = ARGON2_MEMORY_KIB,
        parallelism: int = ARGON2_PARALLELISM,
    ) -> None:
        self._hasher = PasswordHasher(
            time_cost=time_cost,
            memory_cost=memory_kib,
            parallelism=parallelism,
            hash_len=ARGON2_HASH_BYTES,
            salt_len=ARGON2_SALT_BYTES,
            type=Type.ID,
        )
        self._dummy: str | None = None

    def hash(self, secret: str) -> str:
        """The encoded argon2id hash (``$argon2id$v=19$m=...``, about 100 characters)."""
        return self._hasher.hash(secret)

    def verify(self, encoded: str, secret: str) -> bool:
        """True when ``secret`` matches; ``IntegrityViolationError`` if ``encoded`` is not an
        argon2 hash (a stored value was damaged or replaced)."""
        try:
            return self._hasher.verify(encoded, secret)
        except VerifyMismatchError:
            return False
        except InvalidHashError as exc:
            raise IntegrityViolationError("a stored secret hash is not an argon2 hash") from exc
        except VerificationError:
            return False

    def needs_rehash(self, encoded: str) -> bool:
        """True when ``encoded`` was made with other parameters than this hasher's."""
        return self._hasher.check_needs_rehash(encoded)

    def burn(self, secret: str) -> None:
        """Spend the time of a failed verification and learn nothing."""
        if self._dummy is None:
            self._dummy = self.hash(secrets.token_hex(16))
        self.verify(self._dummy, secret)


#: The hasher the store uses for PINs.
PIN_HASHER = SecretHasher()
