"""The CLI's enrollment goes through the enrollment guard: another enrolled person's face is
refused with the generic reason, and ``--live`` takes a capture to compare with."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray

from facegate.errors import PolicyError
from facegate.fixtures import encode_png
from tests.cli.test_cli import _ready_site, run


def _consented(capsys: pytest.CaptureFixture[str], name: str) -> str:
    code, body = run(capsys, "subject", "add", "--name", name, "--adult")
    assert code == 0
    subject_id: str = body["subject"]["id"]
    code, _ = run(capsys, "consent", "record", subject_id, "--evidence", "esign:tx-1")
    assert code == 0
    return subject_id


def test_the_cli_refuses_a_face_enrolled_for_another_person(
    capsys: pytest.CaptureFixture[str], data_dir: Path, tmp_path: Path,
    face_rgb: NDArray[np.uint8],
) -> None:  # fmt: skip
    face = tmp_path / "face.png"
    face.write_bytes(encode_png(face_rgb))
    mirrored = tmp_path / "mirrored.png"
    mirrored.write_bytes(encode_png(np.ascontiguousarray(face_rgb[:, ::-1])))
    _ready_site(capsys)
    owner = _consented(capsys, "Eileen")
    code, body = run(capsys, "enroll", owner, str(face), "--live", str(mirrored))
    assert code == 0, body
    other = _consented(capsys, "Mallory")

    code, body = run(capsys, "enroll", other, str(face))

    assert code == PolicyError.exit_code
    assert body["error"]["code"] == PolicyError.code
    assert owner not in str(body)
