"""Where a resident lives: a building, a unit and a household (room or family label).

Each is optional and short. They organise the console's list; nothing more personal is kept
(no ID number, no phone, R-12).
"""

from __future__ import annotations

from dataclasses import dataclass

from facegate.errors import InvalidRecordError
from facegate.store.schema import BUILDING_LENGTH, HOUSEHOLD_LENGTH, UNIT_LENGTH

#: The store's reasons for refusing a label (stable, as ``check_text``'s: pages word them).
REASON_TOO_LONG = "text_too_long"
REASON_CONTROL_CHARACTER = "control_characters"

#: Field → longest label, in the order the console shows them.
HOME_FIELDS: dict[str, int] = {
    "building": BUILDING_LENGTH,
    "unit": UNIT_LENGTH,
    "household": HOUSEHOLD_LENGTH,
}


@dataclass(frozen=True, slots=True)
class Home:
    """A subject's building, unit and household; None where not given."""

    building: str | None = None
    unit: str | None = None
    household: str | None = None


def label_problem(value: str, max_length: int) -> str | None:
    """Why ``value`` (already stripped) is no label: a reason code, or None if it is one."""
    if len(value) > max_length:
        return REASON_TOO_LONG
    if any(not ch.isprintable() for ch in value):
        return REASON_CONTROL_CHARACTER
    return None


def check_label(value: str | None, field: str, max_length: int) -> str | None:
    """``value`` stripped, None when empty; ``InvalidRecordError`` (with the reason) when it
    is too long or holds control characters."""
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    problem = label_problem(text, max_length)
    if problem is not None:
        raise InvalidRecordError(
            f"{field} must be at most {max_length} printable characters", reason=problem
        )
    return text


def check_home(home: Home | None) -> Home:
    """``home`` with every label checked (``check_label``); an empty home when None."""
    if home is None:
        return Home()
    return Home(
        building=check_label(home.building, "building", BUILDING_LENGTH),
        unit=check_label(home.unit, "unit", UNIT_LENGTH),
        household=check_label(home.household, "household", HOUSEHOLD_LENGTH),
    )
