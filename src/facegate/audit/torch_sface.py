"""A differentiable PyTorch copy of the shipped SFace network, for white-box attacks.

The shipped file is int8 block-quantised (``DequantizeLinear`` with ``block_size``, opset
21), which onnx2torch does not convert. The weights are constants, so they are dequantised
here once (``(q − zero_point) · scale`` per block, exactly as the operator defines it), the
graph is rewritten to a plain float one (Dropout, a no-op at inference, removed) and
converted with onnx2torch. :func:`check_equivalence` compares its embeddings with OpenCV's
on real chips: the attacks are only as white-box as that agreement.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from facegate.models.registry import ModelRegistry
from facegate.vision.sface import SFACE, SFACE_CHIP_SIZE

#: opset the float graph is declared with (every op left is unchanged since 13).
_FLOAT_OPSET = 13
#: Largest cosine distance between the copy's and OpenCV's embeddings accepted as "the same
#: network". OpenCV dequantises the int8 weights to float as well: measured ~1e-12.
EQUIVALENCE_TOLERANCE = 1e-5


def _dequantize(
    q: NDArray[Any], scale: NDArray[Any], zero: NDArray[Any], axis: int, block: int
) -> NDArray[np.float32]:
    scale_full = np.repeat(scale.astype(np.float32), block, axis=axis)
    zero_full = np.repeat(zero.astype(np.float32), block, axis=axis)
    index = [slice(None)] * q.ndim
    index[axis] = slice(0, q.shape[axis])
    return ((q.astype(np.float32) - zero_full[tuple(index)]) * scale_full[tuple(index)]).astype(
        np.float32
    )


def float_onnx(registry: ModelRegistry | None = None) -> Any:
    """The shipped SFace graph (hash-checked) with its weights dequantised to float32."""
    import onnx
    from onnx import helper, numpy_helper

    registry = registry or ModelRegistry.default()
    model = onnx.load(str(registry.verified_path(SFACE, None)))
    graph = model.graph
    consts: dict[str, NDArray[Any]] = {
        init.name: numpy_helper.to_array(init) for init in graph.initializer
    }
    kept = []
    renames: dict[str, str] = {}
    for node in graph.node:
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        if node.op_type == "DequantizeLinear" and all(i in consts for i in node.input):
            q, scale, zero = (consts[i] for i in node.input)
            consts[node.output[0]] = _dequantize(
                q, scale, zero, int(attrs.get("axis", 1)), int(attrs.get("block_size", 0))
            )
        elif node.op_type == "Reshape" and all(i in consts for i in node.input):
            consts[node.output[0]] = consts[node.input[0]].reshape(consts[node.input[1]])
        elif node.op_type in ("Dropout", "Constant"):
            if node.op_type == "Dropout":
                renames[node.output[0]] = node.input[0]
        else:
            kept.append(node)
    for node in kept:
        for k, name in enumerate(node.input):
            if name in renames:
                node.input[k] = renames[name]
    used = {name for node in kept for name in node.input}
    initializers = [
        numpy_helper.from_array(consts[name], name) for name in sorted(used & consts.keys())
    ]
    inputs = [i for i in graph.input if i.name in used and i.name not in consts]
    new_graph = helper.make_graph(kept, "sface_float", inputs, list(graph.output), initializers)
    out = helper.make_model(new_graph, opset_imports=[helper.make_opsetid("", _FLOAT_OPSET)])
    out.ir_version = 8
    onnx.checker.check_model(out)
    return out


def torch_sface(registry: ModelRegistry | None = None) -> Any:
    """``torch.nn.Module``: ``(N, 3, 112, 112)`` float RGB in 0..255 → ``(N, 128)`` raw
    embedding (not yet unit length), in eval mode with gradients off for its parameters."""
    from onnx2torch import convert

    module = convert(float_onnx(registry))
    module.eval()
    for parameter in module.parameters():
        parameter.requires_grad_(False)
    return module


def chips_to_tensor(chips: Sequence[NDArray[np.uint8]]) -> Any:
    """RGB chips ``(112, 112, 3)`` uint8 → ``(N, 3, 112, 112)`` float32 0..255, the layout
    OpenCV's ``FaceRecognizerSF.feature`` feeds the network (it swaps BGR to RGB)."""
    import torch

    array = np.stack([np.asarray(c, dtype=np.float32) for c in chips]).transpose(0, 3, 1, 2)
    if array.shape[1:] != (3, SFACE_CHIP_SIZE, SFACE_CHIP_SIZE):
        raise ValueError(
            f"chips must be {SFACE_CHIP_SIZE}×{SFACE_CHIP_SIZE} RGB, got {array.shape}"
        )
    return torch.from_numpy(np.ascontiguousarray(array))


@dataclass(frozen=True, slots=True)
class Equivalence:
    n: int
    max_cosine_distance: float
    median_cosine_distance: float

    @property
    def same(self) -> bool:
        return self.max_cosine_distance <= EQUIVALENCE_TOLERANCE


def check_equivalence(
    module: Any, chips: Sequence[NDArray[np.uint8]], reference: NDArray[np.float32]
) -> Equivalence:
    """Cosine distance between the copy's embeddings of ``chips`` and ``reference`` (the
    shipped engine's unit embeddings of the same chips)."""
    import torch

    with torch.no_grad():
        raw = module(chips_to_tensor(chips)).numpy().astype(np.float64)
    raw /= np.linalg.norm(raw, axis=1, keepdims=True)
    ref = np.asarray(reference, np.float64)
    ref = ref / np.linalg.norm(ref, axis=1, keepdims=True)
    distance = 1.0 - np.sum(raw * ref, axis=1)
    return Equivalence(len(chips), float(np.max(distance)), float(np.median(distance)))
