"""``facegate bench identification`` end to end: a refusal, and real LFW people."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray

from facegate.cli.main import main
from facegate.errors import DatasetError
from facegate.fixtures import encode_png, no_face


def test_one_person_is_refused_before_embedding(
    tmp_path: Path, face_rgb: NDArray[np.uint8], capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "set"
    (folder / "eileen").mkdir(parents=True)
    (folder / "cup").mkdir()
    (folder / "eileen" / "a.png").write_bytes(encode_png(face_rgb))
    (folder / "eileen" / "b.png").write_bytes(encode_png(np.ascontiguousarray(face_rgb[:, ::-1])))
    (folder / "cup" / "c.png").write_bytes(encode_png(no_face()))
    out = tmp_path / "out"
    code = main(["--json", "bench", "identification", str(folder), "--out", str(out)])
    assert code == DatasetError.exit_code
    message = json.loads(capsys.readouterr().out)["error"]["message"]
    assert "at least 2 people with 2+ photos, found 1" in message
    assert not out.exists()


@pytest.mark.shared_data
@pytest.mark.slow
def test_identification_on_lfw_people(
    tmp_path: Path, shared_data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # 12 people × 5 photos: 6 enrolled (24 mated probes with 1 photo, 12 with 3), 6 strangers.
    source = shared_data_dir / "lfw_deepfunneled_subset" / "images"
    subset = tmp_path / "subset"
    for person in sorted(p for p in source.iterdir() if p.is_dir())[:12]:
        (subset / person.name).mkdir(parents=True)
        for image in sorted(person.glob("*.jpg"))[:5]:
            (subset / person.name / image.name).symlink_to(image)
    out = tmp_path / "out"
    code = main(["--json", "bench", "identification", str(subset), "--out", str(out)])
    assert code == 0
    body = json.loads(capsys.readouterr().out)
    written = json.loads((out / "identification.json").read_text())
    assert written["results"] == body["results"]
    assert written["dataset"] == str(subset)
    assert written["command"].startswith("facegate --json bench identification")
    assert {"engine", "embedding_model"} <= set(written)
    assert (written["enrolled_people"], written["non_mated_people"]) == (6, 6)
    assert written["fta_images"] == 0
    rows = {(r["templates_per_person"], r["fpir"]): r for r in written["results"]}
    assert set(rows) == {(1, 0.1), (1, 0.01), (3, 0.1), (3, 0.01)}
    for (count, fpir), row in rows.items():
        assert (row["gallery_people"], row["people_left_out"]) == (6, 0)
        assert row["n_mated"] == 6 * (5 - count)
        assert row["n_nonmated"] == 30
        assert row["resolvable"] == (fpir == 0.1)  # 30 strangers cannot resolve 1%
        assert row["fpir_measured"] <= fpir
        assert 0.0 <= row["fnir"] <= 1.0
        assert row["rank1"] >= 0.9  # both engines find LFW faces among 6 people
    assert rows[(1, 0.01)]["fnir"] >= rows[(1, 0.1)]["fnir"]
    assert (out / "identification_det.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
