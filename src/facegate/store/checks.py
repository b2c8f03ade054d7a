"""Checks on values handed to the store. Each rejection is an ``InvalidRecordError``."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from datetime import date, datetime

import numpy as np
import numpy.typing as npt

from facegate.errors import InvalidRecordError
from facegate.store.records import EMBEDDING_DIM

_ID = re.compile(r"[0-9a-f]{32}")
_SITE_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def check_text(value: str, field: str, max_length: int) -> str:
    """``value`` stripped; refuses empty text, text over ``max_length`` and control characters."""
    if not isinstance(value, str):
        raise InvalidRecordError(
            f"{field} must be text, got {type(value).__name__}", reason="not_text"
        )
    text = value.strip()
    if not text:
        raise InvalidRecordError(f"{field} must not be empty", reason="text_empty")
    if len(text) > max_length:
        raise InvalidRecordError(
            f"{field} is longer than {max_length} characters", reason="text_too_long"
        )
    if any(not ch.isprintable() for ch in text):
        raise InvalidRecordError(
            f"{field} contains control characters", reason="control_characters"
        )
    return text


def check_id(value: str, field: str) -> str:
    """A store id: 32 lowercase hex characters (a UUID4 without dashes)."""
    if not isinstance(value, str) or not _ID.fullmatch(value):
        raise InvalidRecordError(
            f"{field} must be a 32-character hex id, got {value!r}", reason="bad_id"
        )
    return value


def check_site_code(value: str, max_length: int) -> str:
    code = check_text(value, "site code", max_length)
    if not _SITE_CODE.fullmatch(code):
        raise InvalidRecordError(
            f"site code {code!r} may hold only letters, digits, '.', '_' and '-'",
            reason="bad_site_code",
        )
    return code


def check_aware(value: datetime, field: str) -> datetime:
    if not isinstance(value, datetime):
        raise InvalidRecordError(
            f"{field} must be a date and time, got {type(value).__name__}", reason="not_a_time"
        )
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidRecordError(f"{field} must be timezone-aware", reason="time_without_zone")
    return value


def check_templates(
    embeddings: Sequence[npt.NDArray[np.floating]], qualities: Sequence[float]
) -> list[tuple[npt.NDArray[np.float32], float]]:
    """Pairs of (float32 template of shape (128,), quality); refuses anything else.

    Each embedding must be a floating-point numpy array of shape (128,) whose values stay
    finite as float32; each quality a finite number.
    """
    if len(embeddings) == 0:
        raise InvalidRecordError("no embeddings to enroll", reason="bad_template")
    if len(embeddings) != len(qualities):
        raise InvalidRecordError(
            f"{len(embeddings)} embeddings but {len(qualities)} qualities: one quality each",
            reason="bad_template",
        )
    checked = []
    for index, (embedding, quality) in enumerate(zip(embeddings, qualities, strict=True)):
        if not isinstance(embedding, np.ndarray) or embedding.dtype.kind != "f":
            raise InvalidRecordError(
                f"embedding {index} must be a floating-point numpy array", reason="bad_template"
            )
        if embedding.shape != (EMBEDDING_DIM,):
            raise InvalidRecordError(
                f"embedding {index} has shape {embedding.shape}, expected ({EMBEDDING_DIM},)",
                reason="bad_template",
            )
        with np.errstate(over="ignore"):  # overflow becomes inf, refused just below
            vector = embedding.astype(np.float32)
        if not np.isfinite(vector).all():
            raise InvalidRecordError(
                f"embedding {index} has values that are not finite", reason="bad_template"
            )
        if isinstance(quality, bool) or not isinstance(quality, (int, float, np.floating)):
            raise InvalidRecordError(f"quality {index} must be a number", reason="bad_template")
        if not math.isfinite(quality):
            raise InvalidRecordError(f"quality {index} is not finite", reason="bad_template")
        checked.append((vector, float(quality)))
    return checked


#: R-04: below this age, consent comes from a guardian.
GUARDIAN_CONSENT_AGE = 14
#: A guardian must be an adult.
ADULT_AGE = 18
_OLDEST_PLAUSIBLE_AGE = 130


def check_birth_date(value: date, today: date) -> date:
    if not isinstance(value, date) or isinstance(value, datetime):
        raise InvalidRecordError(
            "date of birth must be a date (YYYY-MM-DD)", reason="birth_date_format"
        )
    if value > today:
        raise InvalidRecordError(
            f"date of birth {value.isoformat()} is in the future", reason="born_in_future"
        )
    if age_on(value, today) > _OLDEST_PLAUSIBLE_AGE:
        raise InvalidRecordError(
            f"date of birth {value.isoformat()} is not plausible", reason="born_implausible"
        )
    return value


def age_on(born: date, today: date) -> int:
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def minor_until_date(born: date) -> date:
    """The day a person born on ``born`` turns 14 (29 February birthdays: 1 March)."""
    try:
        return born.replace(year=born.year + GUARDIAN_CONSENT_AGE)
    except ValueError:
        return date(born.year + GUARDIAN_CONSENT_AGE, 3, 1)
