"""Exported detector weights: the config and the tensors in one file, loadable without training.

The file is a ``torch.save`` of plain data (format tag, config dict, state dict) and is read
back with ``weights_only=True``, so loading it never runs code from the file. The serving
path imports only this module and :mod:`facegate.vision.rcnn.model`; the training code,
optimiser state and data are not needed (nor stored).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch
from torchvision.models.detection import FasterRCNN

from facegate.errors import ModelIntegrityError
from facegate.vision.rcnn.config import RcnnConfig
from facegate.vision.rcnn.model import build_model

#: Bumped when the file layout changes; a file of another format is refused.
WEIGHTS_FORMAT = "facegate-rcnn-weights/1"


def export_weights(
    model: FasterRCNN, config: RcnnConfig, path: Path, metadata: dict[str, Any] | None = None
) -> Path:
    """Write ``model``'s tensors with ``config`` to ``path`` atomically (temp file + rename)."""
    payload = {
        "format": WEIGHTS_FORMAT,
        "config": config.to_dict(),
        "metadata": dict(metadata or {}),
        "state_dict": {k: v.detach().cpu().clone() for k, v in model.state_dict().items()},
    }
    return save_atomically(payload, path)


def save_atomically(payload: dict[str, Any], path: Path) -> Path:
    """``torch.save`` to a temp file, fsync, rename: a kill mid-write keeps the old file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    with partial.open("wb") as handle:
        torch.save(payload, handle)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(partial, path)
    return path


def read_weights(path: Path) -> dict[str, Any]:
    """The file's payload, checked for format; raises ModelIntegrityError on anything else."""
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError as exc:
        raise ModelIntegrityError(f"{path}: no such weights file") from exc
    except Exception as exc:  # torch raises many types for a corrupt or foreign file
        raise ModelIntegrityError(f"{path}: not a facegate detector weights file ({exc})") from exc
    if not isinstance(payload, dict) or payload.get("format") != WEIGHTS_FORMAT:
        raise ModelIntegrityError(f"{path}: not a {WEIGHTS_FORMAT} file")
    return payload


def load_weights(path: Path) -> tuple[FasterRCNN, RcnnConfig]:
    """A ready-to-run detector (eval mode, CPU) and its config from an exported file."""
    payload = read_weights(path)
    try:
        config = RcnnConfig.from_dict(payload["config"])
        model = build_model(config)
        model.load_state_dict(payload["state_dict"])
    except (KeyError, TypeError, ValueError, RuntimeError) as exc:
        raise ModelIntegrityError(f"{path}: weights do not fit their config ({exc})") from exc
    model.eval()
    return model, config
