"""``facegate demo`` on the embedded default: every step decides as the law and the model say."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from facegate.cli.main import main
from facegate.demo import DEMO_GATE, DEMO_SITE
from facegate.fixtures import SHARED_DATA_ENV


def test_demo_runs_end_to_end(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["--json", "demo"])
    body = json.loads(capsys.readouterr().out)
    assert body["all_as_expected"], body["steps"]
    assert code == 0
    outcomes = {step["action"]: step["outcome"] for step in body["steps"]}
    assert outcomes["enroll before any consent"] == "refused: consent_required"
    assert outcomes["enroll a blurred photo"] == "refused: poor_quality"
    assert outcomes["verify Eileen, mirrored photo"] == "match"
    assert outcomes["verify Eileen after deletion"] == "refused: not_found"
    assert outcomes["verify the audit chain"] == "intact"
    # A second run reuses the site and still behaves the same.
    assert main(["--json", "demo"]) == 0
    capsys.readouterr()
    # The demo's gate asks a face for the challenge of movements, as a new gate does.
    assert main(["--json", "gate", "list", "--site", DEMO_SITE]) == 0
    gates = json.loads(capsys.readouterr().out)["gates"]
    assert [(g["code"], g["liveness"]) for g in gates] == [(DEMO_GATE, "passive_active")]


def test_demo_uses_shared_people_when_present(
    tmp_path: Path,
    shared_data_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv(SHARED_DATA_ENV, os.fspath(shared_data_dir))
    assert main(["--json", "demo"]) == 0
    steps = json.loads(capsys.readouterr().out)["steps"]
    outcomes = {step["action"]: step["outcome"] for step in steps}
    assert outcomes["verify Colin_Powell's claim with Gloria_Macapagal_Arroyo's face"] == "no_match"
    assert outcomes["identify Jean_Chretien (never enrolled)"] == "unknown"
    assert outcomes["identify Gloria_Macapagal_Arroyo, another photo"].startswith("identified")


def test_demo_without_shared_data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(SHARED_DATA_ENV, str(tmp_path / "absent"))
    assert main(["--json", "demo"]) == 0
    steps = json.loads(capsys.readouterr().out)["steps"]
    assert len(steps) == 13
    assert all(step["outcome"] == step["expected"] for step in steps)
    outcomes = {step["action"]: step["outcome"] for step in steps}
    assert outcomes["enroll before an impact assessment"] == "refused: assessment_required"
    assert outcomes["Wang enters the main gate with a PIN"] == "open: ok"
    assert outcomes["verify Eileen after withdrawal"] == "refused: consent_required"
