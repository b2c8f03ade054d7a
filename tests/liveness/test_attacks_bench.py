"""``facegate bench attacks``: its arithmetic and report, the splits, and small real runs."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from facegate.bench.attacks import (
    OPENED,
    AttackBench,
    AttackKind,
    Attempt,
    DefenceCost,
    Level,
    Setting,
    calibrate,
    calibration_report,
    is_development,
    jpeg,
    kiosk,
    markdown_report,
    nuaa_live,
    summarise,
)
from facegate.bench.datasets import read_labelled_folder
from facegate.cli.main import main
from facegate.vision.pipeline import FacePipeline

NUAA_COLUMNS = "path,label,attack_type,subject,glasses,pos_code,session,pic_no"


def _attempt(kind: AttackKind, level: Level, setting: Setting, outcome: str) -> Attempt:
    return Attempt(kind, "someone", level, setting, outcome)


def test_summary_counts_opened_gates_per_kind_level_and_setting() -> None:
    swap, passive = AttackKind.FACE_SWAP_FRAME, Level.PASSIVE
    attempts = [
        _attempt(swap, passive, Setting.BEFORE, OPENED),
        _attempt(swap, passive, Setting.BEFORE, OPENED),
        _attempt(swap, passive, Setting.BEFORE, "passive_attack"),
        _attempt(swap, passive, Setting.AFTER, "passive_swap_boundary"),
        _attempt(swap, passive, Setting.AFTER, OPENED),
        _attempt(swap, passive, Setting.AFTER, "passive_swap_boundary"),
    ]
    rows = summarise(attempts, Counter({AttackKind.REPLAY: 2}))
    by_kind = {(r.kind, r.level): r for r in rows}
    row = by_kind[(swap, passive)]
    before, after = row.cells[Setting.BEFORE], row.cells[Setting.AFTER]
    assert (before.n, before.opened, after.opened) == (3, 2, 1)
    assert before.rate == pytest.approx(2 / 3)
    assert after.outcomes == {"passive_swap_boundary": 2, OPENED: 1}
    assert after.ci95[0] < 1 / 3 < after.ci95[1]
    assert Setting.EVERY_FRAME not in row.cells
    replay = by_kind[(AttackKind.REPLAY, passive)]
    assert replay.not_built == 2
    assert replay.cells[Setting.BEFORE].n == 0


def _bench(rows: list[object] | None = None) -> AttackBench:
    attempts = [
        _attempt(AttackKind.REPLAY_SAME_ORDER, Level.PASSIVE_ACTIVE, setting, outcome)
        for setting, outcome in (
            (Setting.BEFORE, OPENED),
            (Setting.AFTER, "active_replayed"),
            (Setting.EVERY_FRAME, "active_replayed"),
        )
    ]
    cost = DefenceCost(
        nuaa_frames=150,
        nuaa_frames_blended=0,
        lfw_frames=12,
        lfw_frames_blended=1,
        nuaa_answers=34,
        refused={"replayed": 2, "swap_boundary": 0},
        ci95={},
    )
    return AttackBench(
        seed=0,
        victims=1,
        people_examined=3,
        operating_point="fmr_1e-4",
        threshold=-0.08,
        pad_model_sha256="ab" * 32,
        defences={},
        rows=summarise(attempts, Counter()),
        cost=cost,
        seconds=1.0,
        attempts=attempts,
    )


def test_markdown_report_has_the_before_after_table_and_the_cost() -> None:
    text = markdown_report(_bench(), "facegate bench attacks lfw")
    assert text.startswith("`facegate bench attacks lfw`")
    assert (
        "| replay_same_order | passive_active | 1 | 1/1 = 100.0% (20.7%–100.0%) | "
        "0/1 = 0.0% (0.0%–79.3%) | 0/1 = 0.0% (0.0%–79.3%) | active_replayed 1 |"
    ) in text
    assert "NUAA live 0/150 = 0.0%" in text
    assert "genuine LFW answer frames 1/12 = 8.3%" in text
    assert "replayed 2/34 = 5.9%" in text


def test_the_split_is_fixed_and_about_even() -> None:
    names = [f"person_{n:03d}" for n in range(400)]
    development = [n for n in names if is_development(n)]
    assert 160 < len(development) < 240
    assert is_development("0003")
    assert not is_development("0002")
    assert [is_development(n) for n in names] == [is_development(n) for n in names]


def test_frames_go_through_the_kiosk_jpeg(face_rgb: np.ndarray) -> None:
    (sent,) = kiosk([face_rgb])
    assert sent.shape == face_rgb.shape
    assert sent.dtype == np.uint8
    assert 0 < np.abs(sent.astype(int) - face_rgb.astype(int)).mean() < 3
    assert (
        np.abs(jpeg(face_rgb, 50).astype(int) - face_rgb.astype(int)).mean()
        > np.abs(sent.astype(int) - face_rgb.astype(int)).mean()
    )


def _nuaa_folder(tmp_path: Path, rows: list[tuple[str, str, str, str, int]]) -> Path:
    """A NUAA-style labels.csv (paths may be absolute: nothing is copied)."""
    folder = tmp_path / "nuaa"
    folder.mkdir()
    lines = [NUAA_COLUMNS] + [
        f"{path},{label},none,{subject},no,0,{session},{pic}"
        for path, label, subject, session, pic in rows
    ]
    (folder / "labels.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


def test_nuaa_live_groups_by_split_subject_and_session(tmp_path: Path) -> None:
    folder = _nuaa_folder(
        tmp_path,
        [
            ("b.jpg", "live", "0002", "1", 20),
            ("a.jpg", "live", "0002", "1", 3),
            ("c.jpg", "live", "0002", "2", 1),
            ("d.jpg", "spoof", "0002", "1", 4),
            ("e.jpg", "live", "0003", "1", 1),
        ],
    )
    report = nuaa_live(folder, development=False)
    assert report == {
        ("0002", "1"): [folder / "a.jpg", folder / "b.jpg"],
        ("0002", "2"): [folder / "c.jpg"],
    }
    assert nuaa_live(folder, development=True) == {("0003", "1"): [folder / "e.jpg"]}


def _nuaa_subset(shared: Path, tmp_path: Path, subjects: tuple[str, ...], per: int) -> Path:
    """A few live frames per subject of the real NUAA folder, by absolute path."""
    nuaa = shared / "nuaa_photo_imposter_subset"
    rows = []
    for subject in subjects:
        paths = sorted((nuaa / "images" / "ClientRaw" / subject).glob("*.jpg"))[:per]
        rows += [(str(p), "live", subject, "1", i) for i, p in enumerate(paths)]
    return _nuaa_folder(tmp_path, rows)


@pytest.mark.shared_data
@pytest.mark.slow
def test_calibration_on_a_small_development_set(
    shared_data_dir: Path, tmp_path: Path, pipeline: FacePipeline
) -> None:
    lfw = read_labelled_folder(shared_data_dir / "lfw_deepfunneled_subset")
    development = sorted({im.identity for im in lfw if is_development(im.identity)})[:4]
    images = [im for im in lfw if im.identity in development]
    nuaa = _nuaa_subset(shared_data_dir, tmp_path, ("0003", "0005"), 4)
    calibration = calibrate(images, nuaa, pipeline, seed=1)
    assert calibration.frames["nuaa_live"] == 8
    assert 8 <= calibration.frames["lfw_canvas"] <= 12
    assert calibration.frames_total == sum(calibration.frames.values())
    # genuine frames sit well above the shipped thresholds
    assert calibration.detail_threshold > -0.515
    assert calibration.noise_threshold > -0.897
    assert calibration.hash_bits_reencoded[-1] <= 6  # a re-encoded frame keeps its hash
    text = calibration_report(calibration, "facegate bench attacks --calibrate")
    assert "At 0.5% per cue" in text


@pytest.mark.shared_data
@pytest.mark.slow
def test_bench_cli_on_two_victims(
    shared_data_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("FACEGATE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("FACEGATE_ENV", "development")
    nuaa = _nuaa_subset(shared_data_dir, tmp_path, ("0002", "0014"), 4)
    out = tmp_path / "out"
    lfw = shared_data_dir / "lfw_deepfunneled_subset"
    argv = ["--json", "bench", "attacks", str(lfw), "--nuaa", str(nuaa), "--limit", "2"]
    assert main([*argv, "--seed", "1", "--out", str(out)]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["report"] == str(out / "attacks.json")
    bench = json.loads((out / "attacks.json").read_text())["bench"]
    assert bench["victims"] == 2
    assert bench["operating_point"] == "fmr_1e-4"
    rows = {(r["kind"], r["level"]): r for r in bench["rows"]}
    assert {kind for kind, _ in rows} == {k.value for k in AttackKind}
    assert ("face_swap_frame", "passive_active") not in rows  # one frame answers nothing
    for (kind, level), row in rows.items():
        settings = set(row["cells"])
        expected = {"before", "after"} | ({"every_frame"} if level == "passive_active" else set())
        assert settings == expected, (kind, level)
        for cell in row["cells"].values():
            assert cell["n"] == 2 - row["not_built"]
            assert sum(cell["outcomes"].values()) == cell["n"]
    # a genuine answer sent again to the same order never opens with the defences
    assert rows[("replay_same_order", "passive_active")]["cells"]["after"]["opened"] == 0
    assert bench["cost"]["nuaa_frames"] == 8
    assert bench["cost"]["nuaa_answers"] == 2
    markdown = (out / "attacks.md").read_text()
    assert markdown.startswith("`facegate --json bench attacks")
    assert "| face_swap_frame | passive |" in markdown
