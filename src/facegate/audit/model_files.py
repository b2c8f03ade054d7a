"""Model-file tampering: a changed embedding network on disk, against the hash checks.

The attacker can write to the gate's disk (a compromised update, a careless technician) and
swaps the SFace file. Three tampers are tried on a temporary copy, never on the installed
file: one flipped weight byte (a silent backdoor), a truncated file, and another valid model
in its place. Undefended means a loader without hashes: the tamper succeeds when OpenCV
loads the file and embeds a face with it. The defences are the registry's hash at load and
the service's re-hash timer (:class:`facegate.models.watch.ModelWatch`), here one tick.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np

from facegate.audit.schema import AttackResult, DefenceResult
from facegate.audit.stats import rate
from facegate.errors import ModelIntegrityError
from facegate.models.registry import ModelRegistry
from facegate.models.watch import ModelWatch
from facegate.vision.sface import SFACE, SFACE_CHIP_SIZE
from facegate.vision.yunet import YUNET


def _flip_byte(path: Path, _: ModelRegistry) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


def _truncate(path: Path, _: ModelRegistry) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _other_model(path: Path, registry: ModelRegistry) -> None:
    shutil.copyfile(registry.default_path(YUNET), path)


TAMPERS: dict[str, Callable[[Path, ModelRegistry], None]] = {
    "flipped_byte": _flip_byte,
    "truncated": _truncate,
    "other_model": _other_model,
}


def _loads(path: Path) -> bool:
    """A loader without hashes: OpenCV reads the file and embeds a grey face with it."""
    quiet = cv2.utils.logging.LOG_LEVEL_SILENT  # a broken graph is expected here, not news
    previous = cv2.utils.logging.getLogLevel()
    cv2.utils.logging.setLogLevel(quiet)
    try:
        net = cv2.FaceRecognizerSF.create(str(path), "")
        chip = np.full((SFACE_CHIP_SIZE, SFACE_CHIP_SIZE, 3), 128, np.uint8)
        vector = np.asarray(net.feature(chip)).reshape(-1)
    except cv2.error:
        return False
    finally:
        cv2.utils.logging.setLogLevel(previous)
    return vector.size > 0 and bool(np.all(np.isfinite(vector)))


def audit_model_files(
    registry: ModelRegistry, check_interval_s: float | None = None
) -> AttackResult:
    entry = registry.entry(SFACE)
    loaded, at_load, at_tick = [], [], []
    with tempfile.TemporaryDirectory(prefix="facegate-audit-") as tmp:
        for tamper in TAMPERS.values():
            folder = Path(tmp) / tamper.__name__.strip("_")
            folder.mkdir()
            assert entry.filename is not None
            copy = folder / entry.filename
            shutil.copyfile(registry.default_path(SFACE), copy)
            local = ModelRegistry({SFACE: replace(entry, package=None, directory=folder)})
            watch = ModelWatch(local, [SFACE])
            watch.check()  # intact before the tamper: the watch must not cry wolf
            tamper(copy, registry)
            loaded.append(_loads(copy))
            try:
                local.verified_path(SFACE)
                at_load.append(True)
            except ModelIntegrityError:
                at_load.append(False)
            try:
                watch.check()
                at_tick.append(True)
            except ModelIntegrityError:
                at_tick.append(False)
    undefended = rate(loaded)
    interval = (
        "FACEGATE_MODEL_CHECK_INTERVAL_S" if check_interval_s is None else f"{check_interval_s:g} s"
    )
    return AttackResult(
        name="model_file_tampering",
        goal="run a changed embedding network at the gate (backdoor, sabotage)",
        access="write access to the gate's disk",
        budget=f"{len(TAMPERS)} tampers of the SFace file: {', '.join(TAMPERS)}",
        n=undefended.n,
        success_undefended=undefended.value,
        ci95=undefended.ci95,
        defences=[
            DefenceResult.of(
                "hash_at_load",
                rate(at_load),
                "one SHA-256 of the file per load (milliseconds); a tamper after loading waits "
                "for a restart",
            ),
            DefenceResult.of(
                "rehash_timer",
                rate(at_tick),
                f"one SHA-256 per model file every {interval}; an incident, and faces refused "
                "until restart (cards still open)",
            ),
        ],
        detail={"tampers": list(TAMPERS), "loaded_without_hash": loaded},
    )
