"""The audit's tests need the ``facegate[audit]`` extra (ART, fairlearn, onnx2torch, torch):
without it the whole folder is left out of collection, so the core suite still runs."""

from __future__ import annotations

import importlib.util

_EXTRA = ("art", "fairlearn", "onnx2torch", "torch")

collect_ignore_glob = (
    ["test_*.py"] if any(importlib.util.find_spec(m) is None for m in _EXTRA) else []
)
