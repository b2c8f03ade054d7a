"""``facegate bench verification`` and ``facegate calibrate`` end to end on real photos."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray
from PIL import Image

from facegate.cli.main import main
from facegate.errors import ConfigError, DatasetError
from facegate.fixtures import encode_png, no_face


@pytest.fixture
def pairs_csv(tmp_path: Path, face_rgb: NDArray[np.uint8]) -> Path:
    """Two same-face pairs (original vs. mirrored / resized) and two pairs with a no-face photo."""
    folder = tmp_path / "set"
    (folder / "eileen").mkdir(parents=True)
    (folder / "cup").mkdir()
    variants = {
        "eileen/a.png": face_rgb,
        "eileen/b.png": np.ascontiguousarray(face_rgb[:, ::-1]),
        "eileen/c.png": np.asarray(Image.fromarray(face_rgb).resize((400, 400))),
        "cup/d.png": no_face(),
    }
    for name, image in variants.items():
        (folder / name).write_bytes(encode_png(image))
    rows = [
        "path_a,path_b,same",
        "eileen/a.png,eileen/b.png,1",
        "eileen/a.png,eileen/c.png,1",
        "eileen/a.png,cup/d.png,0",
        "eileen/b.png,cup/d.png,0",
    ]
    path = folder / "pairs.csv"
    path.write_text("\n".join(rows) + "\n")
    return path


def test_bench_writes_json_and_plot(
    tmp_path: Path, pairs_csv: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    code = main(
        ["--json", "bench", "verification", "--pairs-csv", str(pairs_csv), "--out", str(out)]
    )
    assert code == 0
    capsys.readouterr()
    report = json.loads((out / "verification.json").read_text())
    protocol = report["systems"]["facegate"][0]
    assert (protocol["n_genuine"], protocol["n_impostor"]) == (2, 2)
    assert protocol["fta_images"] == 1  # the coffee cup
    assert protocol["fta_pairs"] == 2
    assert protocol["roc_auc"] == 1.0  # FTA impostor pairs are rejected, genuines match
    assert [op["target_fmr"] for op in protocol["operating_points"]] == [1e-2, 1e-3, 1e-4]
    assert {"decode", "detect", "embed", "total"} <= set(protocol["timing"])
    assert (out / "verification_roc_det.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    table = (out / "verification.md").read_text()
    assert "| facegate | pairs set/pairs.csv |" in table
    assert "FNMR @ FMR 1e-4" in table


def test_bench_baseline_runs_on_the_same_pairs(
    tmp_path: Path, pairs_csv: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    code = main(
        ["bench", "verification", "--pairs-csv", str(pairs_csv), "--out", str(out), "--baseline"]
    )
    assert code == 0
    assert "naive-dlib" in capsys.readouterr().out
    report = json.loads((out / "verification.json").read_text())
    assert set(report["systems"]) == {"facegate", "naive-dlib"}


def test_bench_needs_input(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--json", "bench", "verification"]) == DatasetError.exit_code
    assert json.loads(capsys.readouterr().out)["error"]["code"] == "dataset_error"


def test_calibrate_refuses_too_few_impostors(
    tmp_path: Path,
    pairs_csv: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(["--json", "calibrate", str(pairs_csv.parent)])
    assert code == ConfigError.exit_code
    assert "cannot resolve FMR" in json.loads(capsys.readouterr().out)["error"]["message"]
    assert not (tmp_path / "data" / "calibration.json").exists()


def test_corrupt_calibration_file_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "calibration.json").write_text("{not json")
    monkeypatch.setenv("FACEGATE_DATA_DIR", str(data))
    code = main(["--json", "identify", str(tmp_path / "x.png")])
    assert code == ConfigError.exit_code
    assert "not a valid calibration file" in json.loads(capsys.readouterr().out)["error"]["message"]


@pytest.mark.slow
def test_calibrate_on_lfw_people(
    tmp_path: Path,
    shared_data_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # 40 people × their images: ~20k impostor pairs, enough to resolve FMR 1e-4.
    source = shared_data_dir / "lfw_deepfunneled_subset" / "images"
    subset = tmp_path / "subset"
    for person in sorted(p for p in source.iterdir() if p.is_dir())[:40]:
        (subset / person.name).mkdir(parents=True)
        for image in sorted(person.glob("*.jpg"))[:5]:
            (subset / person.name / image.name).symlink_to(image)
    code = main(["--json", "calibrate", str(subset), "--selection", "central"])
    assert code == 0
    body = json.loads(capsys.readouterr().out)
    strict, lenient = body["calibration"]["fmr_1e-4"], body["calibration"]["fmr_1e-3"]
    assert strict["threshold"] >= lenient["threshold"]
    assert strict["fmr_measured"] <= 1e-4
    assert strict["n_impostor"] >= 10_000
    # ~20k impostor pairs: the tail is fitted to its top 100, not the top 0.1% (20).
    tail = body["impostor_tail"]
    assert tail["n_exceedances"] == 100
    assert tail["n_impostor"] == strict["n_impostor"]
    community = body["identification"]
    assert [c["gallery_size"] for c in community] == [100, 1_000, 10_000]
    assert community[0]["threshold"] < community[1]["threshold"] < community[2]["threshold"]
    written = json.loads((tmp_path / "data" / "calibration.json").read_text())
    [model] = written["models"]  # the default engine's
    assert model == "opencv_sface_2021dec"
    assert written["models"][model]["fmr_1e-4"]["threshold"] == strict["threshold"]


def test_quality_survey(pairs_csv: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--json", "bench", "quality", str(pairs_csv.parent)]) == 0
    survey = json.loads(capsys.readouterr().out)["survey"]
    assert (survey["images"], survey["faces"], survey["failures_to_acquire"]) == (4, 3, 1)
    widths = survey["percentiles"]["face_width"]
    assert len(widths) == 7
    assert widths[0] <= widths[3] <= widths[6]
    assert survey["reasons"] == {}


def test_pairs_of_one_kind_are_a_dataset_error(
    pairs_csv: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    only_same = pairs_csv.parent / "same.csv"
    only_same.write_text("path_a,path_b,same\neileen/a.png,eileen/b.png,1\n")
    code = main(["--json", "bench", "verification", "--pairs-csv", str(only_same)])
    assert code == DatasetError.exit_code
    message = json.loads(capsys.readouterr().out)["error"]["message"]
    assert "needs both same-person and different-person pairs" in message
