"""Gates: what each door accepts, and the rule that none is face-only (R-10)."""

from __future__ import annotations

import json
import sqlite3
from typing import TypedDict

import pytest

from facegate.errors import InvalidRecordError, NotFoundError, PolicyError
from facegate.store import SiteInfo, Store
from facegate.store.gates import DEFAULT_LIVENESS
from facegate.store.records import CredentialKind, GateInfo, LivenessLevel

from .helpers import OPERATOR, SITE_CODE


class _NonFace(TypedDict):
    accepts_card: bool
    accepts_pin: bool
    accepts_otp: bool


ALL_NON_FACE = _NonFace(accepts_card=True, accepts_pin=True, accepts_otp=True)
NO_NON_FACE = _NonFace(accepts_card=False, accepts_pin=False, accepts_otp=False)


def _gate_events(raw_db: sqlite3.Connection) -> list[dict[str, object]]:
    rows = raw_db.execute(
        "SELECT detail FROM audit_event WHERE action = 'gate.configured' ORDER BY id"
    ).fetchall()
    return [json.loads(detail) for (detail,) in rows]


def test_configure_creates_then_updates(
    store: Store, site: SiteInfo, raw_db: sqlite3.Connection
) -> None:
    created = store.gates.configure(
        SITE_CODE, "north", "North gate", accepts_face=True, **ALL_NON_FACE, actor=OPERATOR
    )
    assert isinstance(created, GateInfo)
    assert (created.site_code, created.code, created.name) == (SITE_CODE, "north", "North gate")
    assert (created.accepts_face, created.accepts_card, created.accepts_pin) == (True, True, True)
    assert created.accepts_otp is True
    assert created.liveness is LivenessLevel.PASSIVE_ACTIVE

    updated = store.gates.configure(
        SITE_CODE,
        "north",
        "North gate (new)",
        accepts_face=False,
        accepts_card=True,
        accepts_pin=False,
        accepts_otp=False,
        liveness=LivenessLevel.PASSIVE,
        actor=OPERATOR,
    )
    assert updated.id == created.id
    assert updated.created_at == created.created_at
    assert store.gates.get(SITE_CODE, "north") == updated
    assert updated.accepts(CredentialKind.CARD) is True
    assert updated.accepts(CredentialKind.PIN) is False
    assert updated.accepts(CredentialKind.OTP) is False
    assert updated.liveness is LivenessLevel.PASSIVE

    store.gates.configure(
        SITE_CODE, "east", "East door", accepts_face=False, **ALL_NON_FACE, actor=OPERATOR
    )
    assert [g.code for g in store.gates.list(SITE_CODE)] == ["east", "north"]

    events = _gate_events(raw_db)
    assert [(e["gate"], e["created"]) for e in events] == [
        ("north", True),
        ("north", False),
        ("east", True),
    ]
    assert events[1]["accepts_pin"] is False
    assert [e["liveness"] for e in events] == ["passive_active", "passive", "passive_active"]
    assert store.verify_audit().ok


def test_a_new_gate_asks_for_the_challenge_unless_passive_is_named(
    store: Store, site: SiteInfo, raw_db: sqlite3.Connection
) -> None:
    assert DEFAULT_LIVENESS is LivenessLevel.PASSIVE_ACTIVE
    secure = store.gates.configure(
        SITE_CODE, "north", "North", accepts_face=True, **ALL_NON_FACE, actor=OPERATOR
    )
    assert secure.liveness is LivenessLevel.PASSIVE_ACTIVE
    named = store.gates.configure(
        SITE_CODE, "south", "South", accepts_face=True, **ALL_NON_FACE,
        liveness="passive", actor=OPERATOR,
    )  # fmt: skip
    assert named.liveness is LivenessLevel.PASSIVE
    assert store.gates.get(SITE_CODE, "south").liveness is LivenessLevel.PASSIVE
    # Configuring a gate replaces its level too: left out, it is the secure default again.
    again = store.gates.configure(
        SITE_CODE, "south", "South", accepts_face=True, **ALL_NON_FACE, actor=OPERATOR
    )
    assert again.liveness is LivenessLevel.PASSIVE_ACTIVE
    levels = [(e["gate"], e["liveness"]) for e in _gate_events(raw_db)]
    assert levels == [
        ("north", "passive_active"),
        ("south", "passive"),
        ("south", "passive_active"),
    ]


@pytest.mark.rule("R-10")
@pytest.mark.parametrize("accepts_face", [True, False])
def test_gate_without_non_face_credential_is_refused(
    store: Store, site: SiteInfo, raw_db: sqlite3.Connection, accepts_face: bool
) -> None:
    with pytest.raises(PolicyError, match="R-10"):
        store.gates.configure(
            SITE_CODE, "north", "North", accepts_face=accepts_face, **NO_NON_FACE, actor=OPERATOR
        )
    assert store.gates.list(SITE_CODE) == []
    assert _gate_events(raw_db) == []


@pytest.mark.rule("R-10")
def test_existing_gate_cannot_be_turned_face_only(
    store: Store, site: SiteInfo, raw_db: sqlite3.Connection
) -> None:
    before = store.gates.configure(
        SITE_CODE, "north", "North", accepts_face=True, **ALL_NON_FACE, actor=OPERATOR
    )
    with pytest.raises(PolicyError):
        store.gates.configure(
            SITE_CODE, "north", "North", accepts_face=True, **NO_NON_FACE, actor=OPERATOR
        )
    assert store.gates.get(SITE_CODE, "north") == before
    assert len(_gate_events(raw_db)) == 1


@pytest.mark.sqlite_only("writes 0/1 flags; R-10 on PostgreSQL: test_migrations")
@pytest.mark.rule("R-10")
def test_database_refuses_a_face_only_gate_written_around_the_api(
    store: Store, site: SiteInfo, raw_db: sqlite3.Connection
) -> None:
    with pytest.raises(sqlite3.IntegrityError, match="non_face_credential"):
        raw_db.execute(
            "INSERT INTO gate (id, site_id, code, name, accepts_face, accepts_card, accepts_pin,"
            " accepts_otp, liveness, created_at) VALUES (?, ?, 'raw', 'Raw', 1, 0, 0, 0,"
            " 'passive', '2025-01-01 00:00:00.000000')",
            ("f" * 32, site.id),
        )
    assert raw_db.execute("SELECT count(*) FROM gate").fetchone() == (0,)

    store.gates.configure(
        SITE_CODE, "north", "North", accepts_face=True, **ALL_NON_FACE, actor=OPERATOR
    )
    with pytest.raises(sqlite3.IntegrityError, match="non_face_credential"):
        raw_db.execute(
            "UPDATE gate SET accepts_card = 0, accepts_pin = 0, accepts_otp = 0"
            " WHERE code = 'north'"
        )
    gate = store.gates.get(SITE_CODE, "north")
    assert (gate.accepts_card, gate.accepts_pin, gate.accepts_otp) == (True, True, True)


@pytest.mark.parametrize(
    ("gate_code", "name", "flag", "liveness", "error"),
    [
        ("", "North", True, "passive", "gate code must not be empty"),
        ("north gate", "North", True, "passive", "may hold only"),
        ("north", "   ", True, "passive", "gate name must not be empty"),
        ("north", "North", "yes", "passive", "accepts_card must be true or false"),
        ("north", "North", True, "blink_twice", "liveness 'blink_twice' is not one of"),
    ],
)
def test_bad_configuration_is_a_typed_error(
    store: Store,
    site: SiteInfo,
    gate_code: str,
    name: str,
    flag: object,
    liveness: str,
    error: str,
) -> None:
    with pytest.raises(InvalidRecordError, match=error):
        store.gates.configure(
            SITE_CODE,
            gate_code,
            name,
            accepts_face=True,
            accepts_card=flag,  # type: ignore[arg-type]
            accepts_pin=True,
            accepts_otp=True,
            liveness=liveness,
            actor=OPERATOR,
        )
    assert store.gates.list(SITE_CODE) == []


def test_gates_belong_to_their_site(store: Store, site: SiteInfo) -> None:
    store.create_site("other-site", "Other", actor=OPERATOR)
    store.gates.configure(
        "other-site", "north", "North", accepts_face=False, **ALL_NON_FACE, actor=OPERATOR
    )
    with pytest.raises(NotFoundError, match="no gate 'north' at site 'sunny-garden'"):
        store.gates.get(SITE_CODE, "north")
    assert store.gates.list(SITE_CODE) == []
    assert [g.code for g in store.gates.list("other-site")] == ["north"]
    with pytest.raises(NotFoundError, match="no site"):
        store.gates.configure(
            "nowhere", "north", "North", accepts_face=False, **ALL_NON_FACE, actor=OPERATOR
        )
    with pytest.raises(NotFoundError, match="no site"):
        store.gates.list("nowhere")
