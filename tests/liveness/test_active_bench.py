"""``facegate bench active``: its summary arithmetic, NUAA input, and a small real run."""

from __future__ import annotations

import json
import random
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray

from facegate.bench.active import (
    LFW_KINDS,
    ActiveBench,
    PoseSurvey,
    SequenceOutcome,
    markdown_report,
    summarise,
    survey_nuaa,
    wilson_interval,
)
from facegate.cli.main import main
from facegate.errors import DatasetError
from facegate.fixtures import encode_png
from facegate.liveness.active import ActiveReason
from facegate.liveness.challenge import ChallengeIssuer
from facegate.liveness.sequences import (
    CANVAS_SHAPE,
    SequenceKind,
    nuaa_sequences,
    read_nuaa_labels,
)
from facegate.models.registry import ModelRegistry
from facegate.vision.pipeline import FacePipeline
from facegate.vision.sface import SFACE

NUAA_COLUMNS = "path,label,attack_type,subject,glasses,pos_code,session,pic_no"


def _outcome(
    kind: SequenceKind, reason: ActiveReason, turns: int = 2, planar: int = 0
) -> SequenceOutcome:
    return SequenceOutcome(
        kind,
        "someone",
        "turn_left,come_closer",
        reason is ActiveReason.OK,
        reason,
        "",
        turns,
        planar,
    )


def test_wilson_interval() -> None:
    low, high = wilson_interval(0, 100)
    assert low == 0.0
    assert high == pytest.approx(0.0370, abs=1e-4)
    low, high = wilson_interval(5, 10)
    assert (low, high) == pytest.approx((0.2366, 0.7634), abs=1e-4)
    assert wilson_interval(0, 0) == (0.0, 1.0)


def test_summary_rates_count_the_errors_of_each_kind() -> None:
    outcomes = [
        _outcome(SequenceKind.GENUINE, ActiveReason.OK),
        _outcome(SequenceKind.GENUINE, ActiveReason.OK),
        _outcome(SequenceKind.GENUINE, ActiveReason.IDENTITY_CHANGED),
        _outcome(SequenceKind.PRINT, ActiveReason.CHALLENGE_NOT_FOLLOWED, planar=2),
        _outcome(SequenceKind.PRINT, ActiveReason.OK, turns=3, planar=1),
        _outcome(SequenceKind.PRINT, ActiveReason.NO_FACE, turns=0),
    ]
    genuine, printed, oblique = summarise(outcomes, Counter({SequenceKind.PRINT_OBLIQUE: 3}))
    assert genuine.kind is SequenceKind.GENUINE
    assert (genuine.sequences, genuine.accepted) == (3, 2)
    assert genuine.rate == pytest.approx(1 / 3)
    assert genuine.reasons == {"ok": 2, "identity_changed": 1}
    assert (printed.sequences, printed.accepted) == (3, 1)
    assert printed.rate == pytest.approx(1 / 3)
    # planar alone: at least half of the turn frames; 1 of 3 is not
    assert (printed.planar_alone, printed.planarity_tested) == (1, 2)
    assert (oblique.sequences, oblique.not_built, oblique.rate) == (0, 3, 0.0)
    assert oblique.ci95 == (0.0, 1.0)


def test_markdown_report_names_every_kind() -> None:
    outcomes = [
        _outcome(SequenceKind.GENUINE, ActiveReason.OK),
        _outcome(SequenceKind.SCREEN, ActiveReason.CHALLENGE_NOT_FOLLOWED),
    ]
    bench = ActiveBench(
        seed=0,
        people=1,
        operating_point="fmr_1e-3",
        identity_threshold=0.4738,
        limits={},
        survey=PoseSurvey(3, 0, 1, [0.05, 0.2, 0.3, 0.4]),
        kinds=summarise(outcomes),
        seconds=1.0,
        outcomes=outcomes,
    )
    text = markdown_report(bench, "facegate bench active lfw")
    assert text.startswith("`facegate bench active lfw`")
    assert "| genuine (rejection rate) | 1 | 1 | 0.0% |" in text
    assert "| screen | 1 | 0 | 0.0% |" in text
    assert "challenge_not_followed 1" in text
    assert "0.4738 (fmr_1e-3)" in text
    assert "|yaw| 0.050 / 0.200 / 0.300 / 0.400" in text


def _nuaa_folder(root: Path, rows: list[str], images: dict[str, NDArray[np.uint8]]) -> Path:
    for name, image in images.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(encode_png(image))
    (root / "labels.csv").write_text("\n".join([NUAA_COLUMNS, *rows]) + "\n")
    return root


def test_nuaa_labels_need_their_columns(tmp_path: Path) -> None:
    (tmp_path / "labels.csv").write_text("path,label\na.jpg,live\n")
    with pytest.raises(DatasetError, match="pic_no"):
        read_nuaa_labels(tmp_path)
    with pytest.raises(DatasetError, match="cannot read"):
        read_nuaa_labels(tmp_path / "missing")


def test_nuaa_pic_no_must_be_a_number(tmp_path: Path) -> None:
    _nuaa_folder(tmp_path, ["a.png,spoof,print_photo,0001,no,3,3,x"], {})
    with pytest.raises(DatasetError, match="line 2"):
        read_nuaa_labels(tmp_path)


def test_survey_nuaa_on_a_small_folder(
    tmp_path: Path, pipeline: FacePipeline, face_rgb: NDArray[np.uint8]
) -> None:
    mirrored = np.ascontiguousarray(face_rgb[:, ::-1])
    rows = [
        "live/1.png,live,none,0001,no,0,1,1",
        "live/2.png,live,none,0001,no,0,1,2",
        "spoof/1.png,spoof,print_photo,0001,no,3,3,5",
        "spoof/2.png,spoof,print_photo,0001,no,3,3,9",
        "spoof/3.png,spoof,print_photo,0001,no,1,3,9",  # up-down: not surveyed
    ]
    images = {"live/1.png": face_rgb, "live/2.png": face_rgb}
    images |= {"spoof/1.png": face_rgb, "spoof/2.png": mirrored, "spoof/3.png": face_rgb}
    survey = survey_nuaa(_nuaa_folder(tmp_path, rows, images), pipeline)
    assert survey["nuaa_live_pairs"] == 1
    assert survey["nuaa_live_abs_yaw_shift"] == [0.0] * 4
    assert survey["nuaa_live_eye_ratio"] == [1.0] * 4
    assert survey["nuaa_print_frames"] == 1
    (shift,) = set(survey["nuaa_print_abs_yaw_shift"])  # type: ignore[call-overload]
    assert shift == pytest.approx(0.05, abs=0.01)  # the astronaut's yaw is -0.026


@pytest.mark.shared_data
def test_nuaa_sequences_from_real_prints(shared_data_dir: Path) -> None:
    issuer = ChallengeIssuer(rng=random.Random(0))
    sequences, short = nuaa_sequences(
        shared_data_dir / "nuaa_photo_imposter_subset", issuer, min_frames=4
    )
    # 11 subjects × (rotate, twist), one group of 3 frames (subject 0005, twist) too short
    assert (len(sequences), short) == (21, 1)
    for sequence in sequences:
        assert sequence.kind is SequenceKind.NUAA_PRINT
        assert 4 <= len(sequence.frames) <= 7
        assert {f.shape for f in sequence.frames} == {(*CANVAS_SHAPE, 3)}
        assert sequence.turn_frames == tuple(range(1, len(sequence.frames)))


@pytest.mark.shared_data
@pytest.mark.slow
def test_bench_cli_on_two_people(
    shared_data_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("FACEGATE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("FACEGATE_ENV", "development")
    out = tmp_path / "out"
    lfw = shared_data_dir / "lfw_deepfunneled_subset"
    argv = ["--json", "bench", "active", str(lfw), "--limit", "2", "--seed", "3", "--out", str(out)]
    assert main(argv) == 0
    printed = json.loads(capsys.readouterr().out)
    report = json.loads((out / "active.json").read_text())
    assert printed["report"] == str(out / "active.json")
    bench = report["bench"]
    assert bench["people"] == 2
    assert bench["operating_point"] == "fmr_1e-3"
    default = ModelRegistry.default().entry(SFACE).operating_points["fmr_1e-3"]
    assert bench["identity_threshold"] == pytest.approx(default.threshold)
    kinds = {k["kind"]: k for k in bench["kinds"]}
    assert set(kinds) <= {k.value for k in LFW_KINDS}
    assert sum(k["sequences"] + k["not_built"] for k in kinds.values()) == 2 * len(LFW_KINDS)
    for name, summary in kinds.items():
        assert sum(summary["reasons"].values()) == summary["sequences"]
        if name != "genuine":
            assert summary["accepted"] == 0, summary
    assert len(bench["outcomes"]) == sum(k["sequences"] for k in kinds.values())
    markdown = (out / "active.md").read_text()
    assert markdown.startswith("`facegate --json bench active")
