"""The audit's own machinery: the differentiable SFace copy, intervals, the eyeglass frame,
the model-file tampers and the probe replay."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.typing import NDArray

from facegate.models.registry import ModelRegistry
from facegate.vision.pipeline import FacePipeline, Selection


def test_wilson_interval_brackets_the_rate_and_pins_the_ends() -> None:
    from facegate.audit.stats import wilson

    assert wilson(0, 10)[0] == 0.0
    assert wilson(10, 10)[1] == 1.0
    low, high = wilson(5, 10)
    assert low < 0.5 < high
    # The textbook value for 5/10 (Wilson 1927): [0.237, 0.763].
    assert low == pytest.approx(0.2366, abs=1e-3)
    assert high == pytest.approx(0.7634, abs=1e-3)
    assert wilson(0, 0) == (0.0, 1.0)


def test_blocked_dequantisation_matches_the_onnx_operator() -> None:
    from onnx import TensorProto, helper
    from onnx.reference import ReferenceEvaluator

    from facegate.audit.torch_sface import _dequantize

    rng = np.random.default_rng(0)
    q = rng.integers(-128, 127, size=(4, 12), dtype=np.int8)
    scale = rng.uniform(0.01, 0.1, size=(4, 3)).astype(np.float32)
    zero = rng.integers(-3, 3, size=(4, 3), dtype=np.int8)
    node = helper.make_node("DequantizeLinear", ["q", "s", "z"], ["y"], axis=1, block_size=4)
    graph = helper.make_graph(
        [node],
        "g",
        [
            helper.make_tensor_value_info("q", TensorProto.INT8, q.shape),
            helper.make_tensor_value_info("s", TensorProto.FLOAT, scale.shape),
            helper.make_tensor_value_info("z", TensorProto.INT8, zero.shape),
        ],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, q.shape)],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21)])
    outputs = ReferenceEvaluator(model).run(None, {"q": q, "s": scale, "z": zero})
    expected = np.asarray(next(iter(outputs)))
    np.testing.assert_allclose(_dequantize(q, scale, zero, axis=1, block=4), expected, rtol=1e-6)


def test_torch_copy_embeds_like_the_shipped_engine(
    pipeline: FacePipeline, registry: ModelRegistry, face_rgb: NDArray[np.uint8]
) -> None:
    from facegate.audit.torch_sface import check_equivalence, torch_sface

    chips, references = [], []
    for image in (
        face_rgb,
        np.ascontiguousarray(face_rgb[:, ::-1]),
        (face_rgb * 0.7).astype(np.uint8),
    ):
        face = pipeline.subject(image, Selection.LARGEST)
        assert face.chip is not None
        assert face.embedding is not None
        chips.append(face.chip)
        references.append(face.embedding)
    result = check_equivalence(torch_sface(registry), chips, np.stack(references))
    assert result.n == 3
    assert result.same, result


def test_eyeglass_frame_covers_a_small_band_around_the_eyes() -> None:
    from facegate.audit.evasion import SFACE_TEMPLATE, eyeglass_mask

    mask = eyeglass_mask()
    assert mask.shape == (3, 112, 112)
    assert 0.05 < mask[0].mean() < 0.25
    left_eye = SFACE_TEMPLATE[0].astype(int)
    assert mask[0, left_eye[1], left_eye[0]] == 0.0  # the eye itself stays visible
    assert mask[0, 95:, :].sum() == 0.0  # nothing on the mouth


def test_every_model_file_tamper_is_refused_at_load_and_caught_by_the_timer(
    registry: ModelRegistry,
) -> None:
    from facegate.audit.model_files import TAMPERS, audit_model_files

    result = audit_model_files(registry)
    assert result.n == len(TAMPERS)
    # A flipped weight byte loads and embeds without complaint when nothing checks hashes.
    assert result.detail["loaded_without_hash"][0] is True
    assert {d.name: d.success_defended for d in result.defences} == {
        "hash_at_load": 0.0,
        "rehash_timer": 0.0,
    }


def test_probe_replay_stops_a_query_attack_but_not_a_resident() -> None:
    from facegate.audit.blackbox import _probe_stop, _Trace

    rng = np.random.default_rng(1)
    base = rng.normal(size=128).astype(np.float32)
    base /= np.linalg.norm(base)
    attack = _Trace()
    for _ in range(200):
        nudged = base + rng.normal(scale=0.01, size=128).astype(np.float32)
        attack.opened.append(False)
        attack.embeddings.append(nudged / np.linalg.norm(nudged))
        attack.best_rms.append(np.inf)
    stop = _probe_stop(attack, "device-a")
    assert stop is not None
    assert stop < 200

    visitors = _Trace()
    for _ in range(200):
        other = rng.normal(size=128).astype(np.float32)
        visitors.opened.append(False)
        visitors.embeddings.append(other / np.linalg.norm(other))
        visitors.best_rms.append(np.inf)
    assert _probe_stop(visitors, "device-b") is None
