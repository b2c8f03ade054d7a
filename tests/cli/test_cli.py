"""The CLI end to end on a real SQLite store and real photos: outputs and exit codes."""

from __future__ import annotations

import base64
import json
import sqlite3
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray
from PIL import Image, ImageFilter

from facegate.cli.main import main
from facegate.core.config import load_settings
from facegate.errors import ConsentRequiredError, FaceError, ImageError, NotFoundError
from facegate.fixtures import encode_png, no_face
from facegate.store import Store
from facegate.vision.pipeline import FacePipeline


@pytest.fixture
def images(tmp_path: Path, face_rgb: NDArray[np.uint8]) -> dict[str, Path]:
    made = {
        "face": encode_png(face_rgb),
        "mirrored": encode_png(np.ascontiguousarray(face_rgb[:, ::-1])),
        "blurred": encode_png(
            np.asarray(Image.fromarray(face_rgb).filter(ImageFilter.GaussianBlur(3)))
        ),
        "no_face": encode_png(no_face()),
        "two_faces": encode_png(np.ascontiguousarray(np.concatenate([face_rgb, face_rgb], axis=1))),
        "corrupt": b"\x89PNG\r\n\x1a\n" + b"\x00" * 64,
    }
    paths = {}
    for name, data in made.items():
        paths[name] = tmp_path / f"{name}.png"
        paths[name].write_bytes(data)
    return paths


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, Any]:
    code = main(["--json", *args])
    out = capsys.readouterr().out.strip().splitlines()
    return code, json.loads(out[-1]) if out else None


def _ready_site(capsys: pytest.CaptureFixture[str], site: str = "demo") -> None:
    """A site where enrollment may open: a published notice and an impact assessment."""
    for args in (
        ("init", "--site", site),
        ("notice", "publish", "--site", site, "--version", "v1", "--starter",
         "--operator", "Demo Co.", "--contact", "front desk"),
        ("assessment", "record", "--site", site, "--assessor", "Wang", "--summary", "PIA done."),
    ):  # fmt: skip
        code, body = run(capsys, *args)
        assert code == 0, body


def _subject_with_consent(capsys: pytest.CaptureFixture[str]) -> str:
    code, body = run(capsys, "subject", "add", "--name", "Eileen", "--adult")
    assert code == 0
    subject_id: str = body["subject"]["id"]
    code, body = run(capsys, "consent", "record", subject_id, "--evidence", "esign:tx-1")
    assert code == 0
    assert body["consent"]["notice_version"] == "v1"
    return subject_id


def test_full_flow(
    capsys: pytest.CaptureFixture[str], data_dir: Path, images: dict[str, Path]
) -> None:
    code, body = run(capsys, "init")
    assert (code, body["created"]) == (0, True)
    assert (data_dir / "site.key").stat().st_mode & 0o777 == 0o600
    _ready_site(capsys)
    subject_id = _subject_with_consent(capsys)

    code, body = run(capsys, "enroll", subject_id, str(images["face"]))
    assert code == 0
    assert len(body["templates"]) == 1

    code, body = run(capsys, "verify", subject_id, str(images["mirrored"]))
    assert code == 0
    assert body["verification"]["decision"] == "match"
    code, body = run(capsys, "identify", str(images["mirrored"]))
    assert code == 0
    assert body["identification"]["subject_id"] == subject_id

    code, body = run(capsys, "subject", "list")
    assert code == 0
    assert body["subjects"][0]["template_count"] == 1

    code, body = run(capsys, "audit", "verify")
    assert code == 0
    assert body["audit"]["ok"] is True

    code, body = run(capsys, "subject", "delete", subject_id)
    assert code == 0
    assert (body["receipt"]["keys_destroyed"], body["receipt"]["reason"]) == (1, "request")
    code, body = run(capsys, "verify", subject_id, str(images["face"]))
    assert (code, body["error"]["code"]) == (NotFoundError.exit_code, "not_found")


def test_no_score_or_template_leaves_through_the_cli(
    capsys: pytest.CaptureFixture[str], data_dir: Path, images: dict[str, Path]
) -> None:
    _ready_site(capsys)
    subject_id = _subject_with_consent(capsys)
    run(capsys, "enroll", subject_id, str(images["face"]))
    outputs = [
        run(capsys, "verify", subject_id, str(images["face"]))[1],
        run(capsys, "identify", str(images["face"]))[1],
        run(capsys, "subject", "list")[1],
    ]
    text = json.dumps(outputs)
    for forbidden in ("similarity", "score", "embedding", "threshold", "ciphertext"):
        assert forbidden not in text


def test_enroll_without_consent_is_refused(
    capsys: pytest.CaptureFixture[str], data_dir: Path, images: dict[str, Path]
) -> None:
    _ready_site(capsys)
    _, body = run(capsys, "subject", "add", "--name", "No Consent", "--adult")
    code, body = run(capsys, "enroll", body["subject"]["id"], str(images["face"]))
    assert code == ConsentRequiredError.exit_code
    assert body["error"]["code"] == "consent_required"


@pytest.mark.parametrize(
    ("image", "exit_code", "error_code"),
    [
        ("blurred", FaceError.exit_code, "poor_quality"),
        ("no_face", FaceError.exit_code, "no_face"),
        ("two_faces", FaceError.exit_code, "multiple_faces"),
        ("corrupt", ImageError.exit_code, "image_corrupt"),
    ],
)
def test_enrollment_refuses_bad_images(
    capsys: pytest.CaptureFixture[str],
    data_dir: Path,
    images: dict[str, Path],
    image: str,
    exit_code: int,
    error_code: str,
) -> None:
    _ready_site(capsys)
    subject_id = _subject_with_consent(capsys)
    code, body = run(capsys, "enroll", subject_id, str(images["face"]), str(images[image]))
    assert code == exit_code
    assert body["error"]["code"] == error_code
    assert image in body["error"]["message"]
    if error_code == "poor_quality":
        assert body["error"]["reasons"] == ["blurred"]
    _, listing = run(capsys, "subject", "list")
    assert listing["subjects"][0]["template_count"] == 0  # all or nothing


def test_verify_enforces_the_quality_gate_and_a_no_match_exits_10(
    capsys: pytest.CaptureFixture[str],
    data_dir: Path,
    images: dict[str, Path],
    pipeline: FacePipeline,
) -> None:
    _ready_site(capsys)
    subject_id = _subject_with_consent(capsys)
    run(capsys, "enroll", subject_id, str(images["face"]))
    # As at a gate: a face that fails the quality gate is not matched at all.
    code, body = run(capsys, "verify", subject_id, str(images["blurred"]))
    assert (code, body["error"]["code"]) == (FaceError.exit_code, "poor_quality")
    assert body["error"]["reasons"] == ["blurred"]
    code, body = run(capsys, "verify", "--skip-liveness", subject_id, str(images["blurred"]))
    assert (code, body["error"]["code"]) == (FaceError.exit_code, "poor_quality")
    code, body = run(capsys, "verify", subject_id, str(images["no_face"]))
    assert (code, body["error"]["code"]) == (FaceError.exit_code, "no_face")
    # Someone else's template (a random unit vector): a sharp face that does not match.
    stranger = _subject_with_consent(capsys)
    vector = np.random.default_rng(7).standard_normal(128).astype(np.float32)
    with Store.open(load_settings()) as store:
        store.enroll(stranger, [vector / np.linalg.norm(vector)], pipeline.embedding_model,
                     [0.9], actor="test")  # fmt: skip
    code, body = run(capsys, "verify", stranger, str(images["face"]))
    assert code == 10
    assert body["verification"]["decision"] == "no_match"
    assert body["verification"]["liveness"] == "passive_ok"


def test_unknown_ids_and_bad_usage(
    capsys: pytest.CaptureFixture[str], data_dir: Path, images: dict[str, Path]
) -> None:
    _ready_site(capsys)
    code, body = run(capsys, "verify", "0" * 32, str(images["face"]))
    assert (code, body["error"]["code"]) == (NotFoundError.exit_code, "not_found")
    code, body = run(capsys, "identify", "--site", "nowhere", str(images["face"]))
    assert (code, body["error"]["code"]) == (NotFoundError.exit_code, "not_found")
    assert main(["verify"]) == 2  # usage error
    subject_id = _subject_with_consent(capsys)
    code, body = run(capsys, "verify", subject_id, str(images["face"]) + ".missing")
    assert (code, body["error"]["code"]) == (ImageError.exit_code, "image_corrupt")
    code, body = run(capsys, "verify", "not-an-id", str(images["face"]))
    assert body["error"]["code"] == "invalid_record"


def test_human_output_without_json(capsys: pytest.CaptureFixture[str], data_dir: Path) -> None:
    assert main(["init", "--site", "sunny", "--name", "Sunny Garden"]) == 0
    assert "sunny" in capsys.readouterr().out
    assert main(["audit", "verify"]) == 0
    assert "intact" in capsys.readouterr().out


def test_production_refuses_implicit_key(
    capsys: pytest.CaptureFixture[str], data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FACEGATE_ENV", "production")
    code, body = run(capsys, "init")
    assert code == 2
    assert body["error"]["code"] == "config_error"
    assert not (data_dir / "site.key").exists()


def test_verify_without_templates_is_not_a_no_match(
    capsys: pytest.CaptureFixture[str], images: dict[str, Path]
) -> None:
    _ready_site(capsys)
    subject_id = _subject_with_consent(capsys)
    code, body = run(capsys, "verify", subject_id, str(images["face"]))
    assert (code, body["error"]["code"]) == (NotFoundError.exit_code, "not_found")
    assert "no enrolled face template" in body["error"]["message"]


def test_enrolling_a_deleted_subject_is_not_found(
    capsys: pytest.CaptureFixture[str], images: dict[str, Path]
) -> None:
    _ready_site(capsys)
    subject_id = _subject_with_consent(capsys)
    assert run(capsys, "subject", "delete", subject_id)[0] == 0
    code, body = run(capsys, "enroll", subject_id, str(images["face"]))
    assert (code, body["error"]["code"]) == (NotFoundError.exit_code, "not_found")


@pytest.mark.rule("R-27")
def test_r27_cli_audit_verify_fails_on_an_edited_row(
    capsys: pytest.CaptureFixture[str], data_dir: Path
) -> None:
    run(capsys, "init")
    run(capsys, "subject", "add", "--name", "Someone", "--adult")
    with sqlite3.connect(data_dir / "facegate.sqlite") as db:
        db.execute("DROP TRIGGER audit_event_no_update")  # an attacker with raw DB access
        db.execute("UPDATE audit_event SET actor = 'someone else' WHERE id = 1")
    code, body = run(capsys, "audit", "verify")
    assert code == 8
    assert body["audit"]["ok"] is False
    assert body["audit"]["first_bad_event_id"] == 1


def test_image_limits_and_markup_are_handled(
    capsys: pytest.CaptureFixture[str], images: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    _ready_site(capsys)
    code, body = run(capsys, "subject", "add", "--name", "A [/] [red]B", "--adult")
    assert code == 0
    assert main(["subject", "list"]) == 0
    assert "[red]B" in capsys.readouterr().out  # shown as text, not taken as markup
    subject_id = body["subject"]["id"]
    run(capsys, "consent", "record", subject_id, "--evidence", "paper:form-7")
    monkeypatch.setenv("FACEGATE_MAX_IMAGE_PIXELS", "1000")
    code, body = run(capsys, "enroll", subject_id, str(images["face"]))
    assert (code, body["error"]["code"]) == (ImageError.exit_code, "image_too_large")
    assert main(["consent", "record", "[/x]", "--evidence", "paper:form-7"]) != 0
    assert "Traceback" not in capsys.readouterr().err


def test_unusable_data_dir_and_database_url(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("x")
    code, body = run(capsys, "--data-dir", str(not_a_dir), "init")
    assert (code, body["error"]["code"]) == (9, "filesystem_error")
    assert "is not a directory" in body["error"]["message"]
    monkeypatch.setenv("FACEGATE_DATABASE_URL", "postgresql://localhost/facegate")
    code, body = run(capsys, "init")
    assert (code, body["error"]["code"]) == (2, "config_error")
    monkeypatch.setenv("FACEGATE_DATABASE_URL", "::not a url::")
    code, body = run(capsys, "init")
    assert (code, body["error"]["code"]) == (2, "config_error")


def test_lost_or_wrong_site_key_is_refused(
    capsys: pytest.CaptureFixture[str], data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run(capsys, "init")
    run(capsys, "subject", "add", "--name", "Someone", "--adult")
    (data_dir / "site.key").rename(data_dir / "site.key.bak")
    code, body = run(capsys, "subject", "list")
    assert (code, body["error"]["code"]) == (6, "key_error")
    assert not (data_dir / "site.key").exists()  # no silent new key beside old data
    monkeypatch.setenv("FACEGATE_SITE_KEY", base64.b64encode(bytes(32)).decode())
    code, body = run(capsys, "subject", "list")
    assert (code, body["error"]["code"]) == (6, "key_error")
    assert "does not match" in body["error"]["message"]


def test_unexpected_failure_is_one_line_and_exit_70(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("simulated bug")

    monkeypatch.setattr(Store, "list_sites", broken)
    code, body = run(capsys, "init")
    assert code == 70
    assert body["error"]["code"] == "facegate_error"
    assert "internal error (RuntimeError: simulated bug)" in body["error"]["message"]


def test_init_makes_an_existing_data_dir_private(
    capsys: pytest.CaptureFixture[str], data_dir: Path
) -> None:
    """A data dir made by hand (0755) holds the database and keys: init closes it to 0700."""
    data_dir.mkdir(mode=0o755)
    data_dir.chmod(0o755)
    code, body = run(capsys, "init")
    assert code == 0, body
    assert data_dir.stat().st_mode & 0o777 == 0o700
