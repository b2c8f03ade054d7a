"""The development corpus and the held-out evaluation of ``facegate bench pad DATA_ROOT``:
which presentations it makes, and that every figure comes from a model that did not see the
held-out camera, species or person."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from facegate.cli.main import main
from facegate.errors import DatasetError
from facegate.fixtures import astronaut, encode_png
from facegate.liveness.corpus import (
    DEEPFACE_DIR,
    LFW_DIR,
    LFW_PER_PERSON,
    NUAA_DIR,
    Domain,
    build_corpus,
    fill_funnel_corners,
)
from facegate.liveness.pad_metrics import BONA_FIDE
from facegate.liveness.synthetic import SyntheticSpecies
from tests.liveness.test_training import _held_photo


def _variant(k: int) -> np.ndarray:
    """The astronaut, mirrored and re-lit: a stand-in for another person's photo."""
    face = astronaut() if k % 2 == 0 else np.ascontiguousarray(astronaut()[:, ::-1])
    return np.clip(face.astype(np.int16) + (k % 3 - 1) * 25, 0, 255).astype(np.uint8)


@pytest.fixture
def data_root(tmp_path: Path) -> Path:
    """A tiny ``../shared/data``: 3 LFW people (6 photos each), 2 deepface people, and NUAA
    with 2 subjects live and printed."""
    root = tmp_path / "data"
    lfw = root / LFW_DIR
    rows = ["path,identity,lfw_image_number"]
    for person in ("Ann_A", "Bob_B", "Cy_C"):
        (lfw / "images" / person).mkdir(parents=True)
        for n in range(1, 7):
            path = f"images/{person}/{person}_{n:04d}.jpg"
            Image.fromarray(_variant(n + len(person))).resize((250, 250)).save(lfw / path)
            rows.append(f"{path},{person},{n}")
    (lfw / "labels.csv").write_text("\n".join(rows) + "\n")
    deepface = root / DEEPFACE_DIR
    rows = ["path,identity,source_file"]
    for person in ("person_01", "person_02"):
        (deepface / "images" / person).mkdir(parents=True)
        path = f"images/{person}/img1.jpg"
        Image.fromarray(_variant(len(rows))).save(deepface / path)
        rows.append(f"{path},{person},img1.jpg")
    (deepface / "labels.csv").write_text("\n".join(rows) + "\n")
    nuaa = root / NUAA_DIR
    (nuaa / "images").mkdir(parents=True)
    rows = ["path,label,attack_type,subject,glasses,pos_code,session,pic_no"]
    for subject in ("0001", "0002"):
        for k in range(2):
            face = _variant(k + int(subject))
            (nuaa / f"images/{subject}_live{k}.png").write_bytes(encode_png(face))
            (nuaa / f"images/{subject}_spoof{k}.png").write_bytes(
                encode_png(_held_photo(face, 60 + 60 * k))
            )
            rows.append(f"images/{subject}_live{k}.png,live,none,{subject},no,0,1,{k}")
            rows.append(f"images/{subject}_spoof{k}.png,spoof,print_photo,{subject},no,0,1,{k}")
    (nuaa / "labels.csv").write_text("\n".join(rows) + "\n")
    return root


def test_the_corpus_makes_a_live_copy_and_an_attack_of_every_bona_fide_photo(
    data_root: Path,
) -> None:
    corpus = build_corpus(data_root)
    originals = [s for s in corpus if s.original and s.bona_fide]
    # LFW capped per person; deepface, NUAA live and the package photo taken whole.
    assert len([s for s in originals if s.domain is Domain.LFW]) == 3 * LFW_PER_PERSON
    assert {s.domain for s in originals} == set(Domain)
    recaptured = [s for s in corpus if s.recaptured]
    synthetic = [s for s in corpus if s.synthetic is not None]
    assert len(recaptured) == len(synthetic) == len(originals)
    assert all(s.bona_fide for s in recaptured)
    assert {s.species for s in synthetic} == {k.value for k in SyntheticSpecies}
    # An attack keeps its source's camera and person, so holding them out holds it out.
    for attack in synthetic:
        assert (attack.domain, attack.subject) in {(s.domain, s.subject) for s in originals}
    assert len([s for s in corpus if s.species == "print"]) == 4
    again = build_corpus(data_root)
    assert [s.name for s in again] == [s.name for s in corpus]
    sample = synthetic[0]
    assert np.array_equal(sample.load(), sample.load())


def test_a_root_without_datasets_is_refused_with_its_name(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="none of"):
        build_corpus(tmp_path)
    with pytest.raises(DatasetError, match="no such folder"):
        build_corpus(tmp_path / "missing")


@pytest.mark.slow
def test_bench_pad_on_a_data_root_reports_held_out_cameras_species_and_people(
    data_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "bench"
    assert main(["--json", "bench", "pad", str(data_root), "--out", str(out)]) == 0
    result = json.loads(capsys.readouterr().out)["pad"]
    cross = result["cross_domain"]
    assert {c["held_out"] for c in cross["cameras"]} == {"lfw", "deepface", "nuaa"}
    for camera in cross["cameras"]:
        assert camera["bpcer"]["n"] > 0
        assert 0.0 <= camera["bpcer"]["low"] <= camera["bpcer"]["rate"] <= camera["bpcer"]["high"]
    species = {name for c in cross["species"] for name in c["apcer"]}
    assert species <= {k.value for k in SyntheticSpecies}
    assert cross["nuaa"]["counts"] == {BONA_FIDE: 4, "print": 4}
    report = result["report"]
    assert {p["target_apcer"] for p in report["bpcer_at_apcer"]} == {0.01, 0.05}
    assert (out / "pad_det.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.slow
def test_train_on_a_data_root_writes_a_model_of_the_whole_corpus(
    data_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "model.json"
    assert main(["--json", "liveness", "train", str(data_root), "--out", str(out)]) == 0
    printed = json.loads(capsys.readouterr().out)
    corpus = build_corpus(data_root)
    assert printed["presentations"] + printed["no_face"] == len(corpus)
    assert printed["subjects"] == 3 + 2 + 2 + 1


def test_a_listed_image_that_is_missing_is_named(data_root: Path) -> None:
    (data_root / LFW_DIR / "images/Ann_A/Ann_A_0001.jpg").unlink()
    with pytest.raises(DatasetError, match=r"Ann_A_0001\.jpg' not found"):
        build_corpus(data_root)


def test_lfw_funnel_wedges_are_painted_over_and_other_pixels_kept() -> None:
    # Lifted so that no real pixel is near black: the filler cannot tell a funnel wedge
    # from black clothes touching the frame's edge (both are painted over).
    lifted = np.clip(astronaut().astype(np.int16) + 30, 0, 255).astype(np.uint8)
    photo = np.asarray(Image.fromarray(lifted).resize((250, 250)))
    wedged = photo.copy()
    rows, cols = np.indices(wedged.shape[:2])
    wedge = rows + cols < 40  # the black triangle a funnel warp leaves in a corner
    wedged[wedge] = 0
    filled = fill_funnel_corners(wedged)
    assert filled[wedge].mean() > 40  # painted from the surroundings, no longer black
    far = rows + cols > 60
    assert np.array_equal(filled[far], wedged[far])
    assert np.array_equal(fill_funnel_corners(photo), photo)
