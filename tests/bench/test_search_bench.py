"""``facegate bench search``: the workload, exact ground truth and the CLI's search.json."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from facegate.bench.search import (
    EXACT_CHUNK,
    LabelledEmbeddings,
    build_workload,
    exact_top1,
    fallback_distribution,
    fit_distribution,
)
from facegate.cli.main import main
from facegate.matching.score import score
from facegate.vision.record import EMBEDDING_DIM

REPORT_FIELDS = {"templates", "build_s", "memory_bytes_per_template", "p50_ms", "p99_ms"}


def _people(rng: np.random.Generator, people: int, photos: int) -> LabelledEmbeddings:
    centres = rng.standard_normal((people, EMBEDDING_DIM))
    x = np.repeat(centres, photos, axis=0) + 0.3 * rng.standard_normal(
        (people * photos, EMBEDDING_DIM)
    )
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    names = tuple(f"p{i}" for i in range(people) for _ in range(photos))
    return LabelledEmbeddings(x.astype(np.float32), names)


def test_synthetic_templates_match_the_fitted_real_distribution() -> None:
    rng = np.random.default_rng(0)
    real = _people(rng, 60, 6)
    fitted = fit_distribution(real)
    assert fitted.source == "fitted on 360 real embeddings of 60 people"
    workload = build_workload(4000, real, seed=2)
    synthetic = workload.gallery[~np.isin(workload.gallery, real.embeddings).all(axis=1)]
    assert len(synthetic) == 4000 - workload.real_templates
    np.testing.assert_allclose(np.linalg.norm(synthetic, axis=1), 1.0, atol=1e-5)
    # Impostor similarity: synthetic people sit as far apart as the real ones.
    names = np.asarray(real.identities)
    real_scores = score(real.embeddings, real.embeddings)[names[:, None] != names[None, :]]
    synthetic_scores = score(synthetic[:300], synthetic[300:600])
    assert abs(real_scores.mean() - synthetic_scores.mean()) < 0.05
    # Real probes are held-out photos of enrolled people, never a template.
    assert workload.real_templates == 120
    assert workload.real_people == 60
    assert workload.real_probes == 60 * 4
    real_probes = workload.probes[: workload.real_probes]
    assert not np.isin(real_probes, workload.gallery).all(axis=1).any()


def test_without_real_data_the_workload_is_synthetic() -> None:
    workload = build_workload(500, None, seed=0)
    assert (workload.real_templates, workload.real_probes) == (0, 0)
    assert workload.distribution == fallback_distribution().source
    assert workload.gallery.shape == (500, EMBEDDING_DIM)
    assert len(workload.probes) == 250  # one probe per synthetic person
    with pytest.raises(ValueError, match="templates"):
        build_workload(1, None, seed=0)


def test_exact_top1_is_the_best_score_over_every_chunk() -> None:
    rng = np.random.default_rng(4)
    gallery = rng.standard_normal((EXACT_CHUNK + 300, EMBEDDING_DIM)).astype(np.float32)
    probes = gallery[[5, EXACT_CHUNK + 7]] + 0.01
    probes = np.concatenate([probes, rng.standard_normal((20, EMBEDDING_DIM))]).astype(np.float32)
    expected = np.argmax(score(probes, gallery), axis=1)
    np.testing.assert_array_equal(exact_top1(probes, gallery), expected)
    assert expected[:2].tolist() == [5, EXACT_CHUNK + 7]


def test_cli_writes_search_json_synthetic_only(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    code = main(["--json", "bench", "search", "--templates", "2000", "--out", str(out)])
    assert code == 0
    body = json.loads(capsys.readouterr().out)
    written = json.loads((out / "search.json").read_text())
    assert REPORT_FIELDS | {"recall_at_1", "parameters", "probes"} <= set(written)
    assert body["report"] == str(out / "search.json")
    assert written["templates"] == 2000
    assert written["probes"] == 1000
    assert written["data"] is None
    assert written["real_probes"] == 0
    assert any("synthetic only" in note for note in written["notes"])
    # 2,000 templates are searched exhaustively: recall is exact.
    assert written["recall_at_1"] == 1.0
    assert written["p99_ms"] >= written["p50_ms"] > 0.0
    assert written["memory_bytes_per_template"] >= EMBEDDING_DIM * 4
    assert written["command"].startswith("facegate --json bench search --templates 2000")


@pytest.mark.shared_data
@pytest.mark.slow
def test_cli_with_real_lfw_faces(
    tmp_path: Path, shared_data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = shared_data_dir / "lfw_deepfunneled_subset" / "images"
    subset = tmp_path / "subset"
    for person in sorted(p for p in source.iterdir() if p.is_dir())[:8]:
        (subset / person.name).mkdir(parents=True)
        for image in sorted(person.glob("*.jpg"))[:4]:
            (subset / person.name / image.name).symlink_to(image)
    out = tmp_path / "out"
    args = ["--json", "bench", "search", "--templates", "1000", "--out", str(out)]
    assert main([*args, "--data", str(subset)]) == 0
    written = json.loads((out / "search.json").read_text())
    assert written["real_people"] == 8
    assert written["real_templates"] == 16
    assert written["real_probes"] == 16
    assert written["recall_at_1_real"] == 1.0
    assert written["distribution"].endswith("real embeddings of 8 people")
    cached = list(out.glob("real-embeddings-*.npz"))
    assert len(cached) == 1
    capsys.readouterr()
    assert main([*args, "--data", str(subset)]) == 0  # from the cache this time
    assert json.loads((out / "search.json").read_text())["recall_at_1_real"] == 1.0
