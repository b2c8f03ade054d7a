"""Training loop: seeded, resumable from checkpoints, CPU or GPU, time-boxed.

Every step's randomness is derived from ``(seed, step)``: the batch is a slice of a
per-epoch permutation and torch's generator is reseeded before augmentation. A run
resumed from a checkpoint therefore continues exactly as the uninterrupted run would
have (on a CPU; CUDA kernels are not bitwise deterministic).
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import torch
from torchvision.models.detection import FasterRCNN

from facegate.errors import ConfigError
from facegate.vision.rcnn.config import RcnnConfig
from facegate.vision.rcnn.data import Sample, augmentation, to_model_input
from facegate.vision.rcnn.model import build_model
from facegate.vision.rcnn.weights import save_atomically

CHECKPOINT_NAME = "checkpoint.pt"
CHECKPOINT_FORMAT = "facegate-rcnn-checkpoint/1"
#: AdamW rather than the seed's SGD: from random initialisation, with no ImageNet weights,
#: it reaches a usable detector in far fewer CPU steps (SGD at lr 0.01 diverged or stalled).
DEFAULT_LEARNING_RATE = 1e-3
DEFAULT_WEIGHT_DECAY = 1e-4
DEFAULT_BATCH_SIZE = 4
DEFAULT_STEPS = 1000
#: Linear warm-up, then cosine decay to zero at the last step.
DEFAULT_WARMUP_STEPS = 50
DEFAULT_CHECKPOINT_EVERY = 100
#: Clip the gradient norm: early from-scratch steps have huge box-regression losses.
MAX_GRAD_NORM = 10.0
_SEED_STRIDE = 1_000_003


class Device(StrEnum):
    AUTO = "auto"  # a GPU when torch sees one, else the CPU
    CPU = "cpu"
    CUDA = "cuda"


@dataclass(frozen=True, slots=True)
class TrainSettings:
    """How to train; part of every checkpoint, and a resumed run must use the same."""

    steps: int = DEFAULT_STEPS
    batch_size: int = DEFAULT_BATCH_SIZE
    learning_rate: float = DEFAULT_LEARNING_RATE
    weight_decay: float = DEFAULT_WEIGHT_DECAY
    warmup_steps: int = DEFAULT_WARMUP_STEPS
    seed: int = 0
    augment: bool = True

    def __post_init__(self) -> None:
        if self.steps < 1 or self.batch_size < 1 or self.warmup_steps < 0:
            raise ValueError("steps and batch_size must be at least 1, warmup_steps at least 0")
        if not (self.learning_rate > 0 and self.weight_decay >= 0):
            raise ValueError("learning_rate must be positive and weight_decay non-negative")

    def learning_rate_at(self, step: int) -> float:
        """Warm-up then cosine decay; ``step`` counts from 0."""
        if step < self.warmup_steps:
            return self.learning_rate * (step + 1) / self.warmup_steps
        span = max(1, self.steps - self.warmup_steps)
        progress = (step - self.warmup_steps) / span
        return self.learning_rate * 0.5 * (1.0 + math.cos(math.pi * progress))


@dataclass(frozen=True, slots=True)
class StepLog:
    step: int  # steps done, 1-based
    losses: dict[str, float]
    seconds: float  # training time so far, resumed runs included

    @property
    def total(self) -> float:
        return sum(self.losses.values())


@dataclass(slots=True, eq=False)
class TrainResult:
    model: FasterRCNN
    config: RcnnConfig
    settings: TrainSettings
    steps_done: int
    seconds: float
    history: list[StepLog] = field(default_factory=list)
    stopped_early: bool = False
    device: str = "cpu"


def resolve_device(device: Device | str) -> torch.device:
    chosen = Device(device)
    if chosen is Device.CUDA and not torch.cuda.is_available():
        raise ConfigError("--device cuda: torch sees no CUDA GPU on this machine")
    if chosen is Device.CPU or not torch.cuda.is_available():
        return torch.device("cpu")
    return torch.device("cuda")


def dataset_fingerprint(samples: Sequence[Sample]) -> str:
    """Names and boxes of the training set: a resumed run must train on the same data."""
    digest = hashlib.sha256()
    for sample in samples:
        digest.update(sample.name.encode("utf-8"))
        digest.update(str(tuple(sample.image.shape)).encode())
        digest.update(sample.boxes.numpy().tobytes())
    return digest.hexdigest()


def batch_indices(step: int, n_samples: int, settings: TrainSettings) -> list[int]:
    """The samples of ``step``: consecutive slices of a per-epoch seeded permutation."""
    indices = []
    for position in range(step * settings.batch_size, (step + 1) * settings.batch_size):
        epoch, offset = divmod(position, n_samples)
        generator = torch.Generator().manual_seed(settings.seed * _SEED_STRIDE + epoch)
        indices.append(int(torch.randperm(n_samples, generator=generator)[offset]))
    return indices


def train(
    samples: Sequence[Sample],
    config: RcnnConfig,
    settings: TrainSettings,
    out_dir: Path,
    *,
    device: Device | str = Device.AUTO,
    resume: bool = False,
    checkpoint_every: int = DEFAULT_CHECKPOINT_EVERY,
    max_seconds: float | None = None,
    on_step: Callable[[StepLog], None] | None = None,
) -> TrainResult:
    """Train a detector on ``samples``; checkpoint to ``out_dir`` every ``checkpoint_every`` steps.

    Args:
        resume: continue from ``out_dir/checkpoint.pt`` (its config, settings and data must
            match these); without it an existing checkpoint is an error, never overwritten.
        max_seconds: stop early (after a checkpoint) once training time passes this.

    Raises:
        ConfigError: nothing to train on, a checkpoint in the way or unusable for resuming.
    """
    if not samples:
        raise ConfigError("no training images")
    if not any(len(s.boxes) for s in samples):
        raise ConfigError("the training images hold no face boxes")
    target = resolve_device(device)
    checkpoint_path = out_dir / CHECKPOINT_NAME
    fingerprint = dataset_fingerprint(samples)
    torch.manual_seed(settings.seed)
    model = build_model(config).to(target)
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=settings.learning_rate, weight_decay=settings.weight_decay
    )
    result = TrainResult(model, config, settings, 0, 0.0, device=str(target))
    if checkpoint_path.exists():
        if not resume:
            raise ConfigError(f"{checkpoint_path} exists: pass --resume or choose another --out")
        _restore(checkpoint_path, model, optimizer, result, fingerprint, target)
    elif resume:
        raise ConfigError(f"--resume: no checkpoint at {checkpoint_path}")
    transform = augmentation() if settings.augment else None
    model.train()
    started = time.perf_counter() - result.seconds
    while result.steps_done < settings.steps:
        step = result.steps_done
        torch.manual_seed(settings.seed * _SEED_STRIDE + step)
        batch = [
            to_model_input(samples[i], transform)
            for i in batch_indices(step, len(samples), settings)
        ]
        images = [image.to(target) for image, _ in batch]
        targets = [{k: v.to(target) for k, v in t.items()} for _, t in batch]
        for group in optimizer.param_groups:
            group["lr"] = settings.learning_rate_at(step)
        losses = model(images, targets)
        total = sum(losses.values())
        assert isinstance(total, torch.Tensor)
        if not torch.isfinite(total):
            raise ConfigError(f"step {step + 1}: the loss is not finite; lower --learning-rate")
        optimizer.zero_grad(set_to_none=True)
        total.backward()  # type: ignore[no-untyped-call]
        torch.nn.utils.clip_grad_norm_(model.parameters(), MAX_GRAD_NORM)
        optimizer.step()
        result.steps_done = step + 1
        result.seconds = time.perf_counter() - started
        values = {k: float(v.detach()) for k, v in losses.items()}
        log = StepLog(result.steps_done, values, result.seconds)
        result.history.append(log)
        if on_step is not None:
            on_step(log)
        out_of_time = max_seconds is not None and result.seconds >= max_seconds
        if (
            result.steps_done % checkpoint_every == 0
            or result.steps_done == settings.steps
            or out_of_time
        ):
            save_checkpoint(checkpoint_path, model, optimizer, result, fingerprint)
        if out_of_time and result.steps_done < settings.steps:
            result.stopped_early = True
            break
    model.eval()
    return result


def save_checkpoint(
    path: Path,
    model: FasterRCNN,
    optimizer: torch.optim.Optimizer,
    result: TrainResult,
    fingerprint: str,
) -> Path:
    """Everything a resumed run needs, written atomically (a kill mid-write keeps the old one)."""
    payload = {
        "format": CHECKPOINT_FORMAT,
        "config": result.config.to_dict(),
        "settings": asdict(result.settings),
        "dataset": fingerprint,
        "steps_done": result.steps_done,
        "seconds": result.seconds,
        "history": [[log.step, log.losses, log.seconds] for log in result.history],
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
    }
    return save_atomically(payload, path)


def _restore(
    path: Path,
    model: FasterRCNN,
    optimizer: torch.optim.Optimizer,
    result: TrainResult,
    fingerprint: str,
    device: torch.device,
) -> None:
    try:
        payload: dict[str, Any] = torch.load(path, map_location=device, weights_only=True)
    except Exception as exc:  # a truncated or foreign file: torch raises many types
        raise ConfigError(f"{path}: not a readable checkpoint ({exc})") from exc
    if not isinstance(payload, dict) or payload.get("format") != CHECKPOINT_FORMAT:
        raise ConfigError(f"{path}: not a {CHECKPOINT_FORMAT} file")
    mismatches = [
        what
        for what, theirs, ours in (
            ("config", payload["config"], result.config.to_dict()),
            ("settings", payload["settings"], asdict(result.settings)),
            ("training images", payload["dataset"], fingerprint),
        )
        if _plain(theirs) != _plain(ours)
    ]
    if mismatches:
        raise ConfigError(f"{path} was made with other {', '.join(mismatches)}; cannot resume")
    model.load_state_dict(payload["model"])
    optimizer.load_state_dict(payload["optimizer"])
    result.steps_done = int(payload["steps_done"])
    result.seconds = float(payload["seconds"])
    result.history = [
        StepLog(int(s), dict(losses), float(t)) for s, losses, t in payload["history"]
    ]


def _plain(value: object) -> object:
    """Tuples and lists compare equal (a checkpoint stores lists)."""
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value
