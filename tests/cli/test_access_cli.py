"""``facegate gate``, ``credential`` and ``access``: secrets never on the command line."""

from __future__ import annotations

import io
import json
import sys
from typing import Any

import pytest

from facegate.cli.access import DENIED_EXIT, TRY_ANOTHER_EXIT
from facegate.cli.main import main
from facegate.errors import InvalidRecordError, PolicyError

PIN = "739182"
CARD = "ZX90-7788-QW"


def run(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    *args: str,
    stdin: str = "",
) -> tuple[int, Any]:
    # Not a terminal: the command reads its secret from the first line of stdin.
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    code = main(["--json", *args])
    out = capsys.readouterr().out.strip().splitlines()
    return code, json.loads(out[-1]) if out else None


@pytest.fixture
def subject_id(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> str:
    assert run(capsys, monkeypatch, "init")[0] == 0
    code, body = run(capsys, monkeypatch, "subject", "add", "--name", "Wang Wu", "--adult")
    assert code == 0
    code, body_gate = run(
        capsys, monkeypatch, "gate", "configure", "north", "--name", "North gate", "--face"
    )
    assert code == 0
    assert body_gate["gate"]["accepts_face"] is True
    return str(body["subject"]["id"])


@pytest.mark.rule("R-10")
def test_face_only_gate_is_refused(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, subject_id: str
) -> None:
    code, body = run(
        capsys,
        monkeypatch,
        "gate",
        "configure",
        "lobby",
        "--name",
        "Lobby",
        "--face",
        "--no-card",
        "--no-pin",
        "--no-otp",
    )
    assert (code, body["error"]["code"]) == (PolicyError.exit_code, PolicyError.code)
    code, body = run(capsys, monkeypatch, "gate", "list")
    assert code == 0
    assert [g["code"] for g in body["gates"]] == ["north"]
    assert body["gates"][0]["accepts_card"] is True


@pytest.mark.rule("R-08", "R-11")
def test_pin_card_and_code_open_the_face_gate_without_consent(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, subject_id: str
) -> None:
    """The subject never consented to face processing and still gets in, three ways."""
    code, body = run(capsys, monkeypatch, "credential", "pin", subject_id, stdin=f"{PIN}\n")
    assert (code, body["credential"]["kind"]) == (0, "pin")
    code, body = run(capsys, monkeypatch, "credential", "card", subject_id, stdin=CARD + "\n")
    assert code == 0
    card_id = body["credential"]["id"]
    code, body = run(capsys, monkeypatch, "credential", "otp", subject_id, "--ttl-minutes", "5")
    assert code == 0
    otp = body["otp"]["code"]
    assert len(otp) == 8

    check = ("access", "check", "north", "--device", "reader-1")
    code, body = run(
        capsys, monkeypatch, *check, "--kind", "pin", "--subject", subject_id, stdin=PIN
    )
    assert (code, body["decision"]["outcome"], body["decision"]["subject_id"]) == (
        0,
        "open",
        subject_id,
    )
    code, body = run(capsys, monkeypatch, *check, "--kind", "card", stdin=CARD)
    assert (code, body["decision"]["reason"]) == (0, "ok")
    code, body = run(capsys, monkeypatch, *check, "--kind", "otp", stdin=otp)
    assert (code, body["decision"]["reason"]) == (0, "ok")
    code, body = run(capsys, monkeypatch, *check, "--kind", "otp", stdin=otp)
    assert (code, body["decision"]) == (
        DENIED_EXIT,
        body["decision"] | {"outcome": "deny", "reason": "used", "subject_id": None},
    )

    code, body = run(capsys, monkeypatch, "credential", "revoke", card_id)
    assert (code, body["credential"]["status"]) == (0, "revoked")
    code, body = run(capsys, monkeypatch, *check, "--kind", "card", stdin=CARD)
    assert (code, body["decision"]["reason"]) == (DENIED_EXIT, "revoked")

    code, body = run(capsys, monkeypatch, "credential", "list", subject_id)
    assert code == 0
    assert sorted(c["kind"] for c in body["credentials"]) == ["card", "otp", "pin"]
    listed = json.dumps(body)
    assert "hash" not in listed
    assert otp not in listed
    assert PIN not in listed


def test_gate_that_takes_no_pin_says_try_another(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, subject_id: str
) -> None:
    assert run(capsys, monkeypatch, "credential", "pin", subject_id, stdin=PIN)[0] == 0
    code, _ = run(
        capsys, monkeypatch, "gate", "configure", "garage", "--name", "Garage", "--no-pin"
    )
    assert code == 0
    code, body = run(
        capsys,
        monkeypatch,
        "access",
        "check",
        "garage",
        "--kind",
        "pin",
        "--subject",
        subject_id,
        stdin=PIN,
    )
    assert (code, body["decision"]["reason"]) == (TRY_ANOTHER_EXIT, "gate_does_not_accept")


def test_pin_is_never_a_command_line_argument(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, subject_id: str
) -> None:
    # argv is visible to every user of the machine: there is no place for a PIN in it.
    code, _ = run(capsys, monkeypatch, "credential", "pin", subject_id, PIN)
    assert code == 2
    code, _ = run(capsys, monkeypatch, "credential", "pin", subject_id, "--pin", PIN)
    assert code == 2
    code, body = run(capsys, monkeypatch, "credential", "list", subject_id)
    assert body["credentials"] == []


def test_weak_or_missing_pin_is_a_typed_error(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, subject_id: str
) -> None:
    for typed in ("123456\n", "12ab56\n", ""):
        code, body = run(capsys, monkeypatch, "credential", "pin", subject_id, stdin=typed)
        assert (code, body["error"]["code"]) == (
            InvalidRecordError.exit_code,
            InvalidRecordError.code,
        )
        if typed.strip():
            assert typed.strip() not in body["error"]["message"]


def test_a_new_gate_asks_for_the_challenge_unless_passive_is_named(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, subject_id: str
) -> None:
    # The fixture's "north" gate was configured without naming a level.
    code, body = run(capsys, monkeypatch, "gate", "list")
    assert code == 0
    assert [(g["code"], g["liveness"]) for g in body["gates"]] == [("north", "passive_active")]
    code, body = run(
        capsys, monkeypatch,
        "gate", "configure", "side", "--name", "Side gate", "--face", "--liveness", "passive",
    )  # fmt: skip
    assert (code, body["gate"]["liveness"]) == (0, "passive")
    code, _ = run(
        capsys, monkeypatch,
        "gate", "configure", "side", "--name", "Side gate", "--face", "--liveness", "blink",
    )  # fmt: skip
    assert code == 2  # a usage error: the level is not one of the choices
    code, body = run(capsys, monkeypatch, "gate", "list")
    assert [g["liveness"] for g in body["gates"]] == ["passive_active", "passive"]
