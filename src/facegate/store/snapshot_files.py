"""Where kept frames live on disk: encrypted files under the data dir, one per frame.

A file is ``FILE_MAGIC || nonce || AES-GCM ciphertext`` of the redacted frame's PNG, under
the frame's own data key in the key store. Files are written atomically (temporary file,
fsync, rename) with mode 0600 in a 0700 directory, so a crash leaves either the whole file
or a stray temporary one, which ``store.reconcile`` removes.
"""

from __future__ import annotations

import os
import re
import secrets
from pathlib import Path

from facegate.core.config import Settings
from facegate.errors import FileSystemError, IntegrityViolationError, NotFoundError
from facegate.store.engine import fsync_path

SNAPSHOT_DIR = "snapshots"
SNAPSHOT_SUFFIX = ".fgsnap"
TEMP_SUFFIX = ".tmp"
#: Marks facegate's encrypted kept-frame format, version 1.
FILE_MAGIC = b"FGSNAP1\x00"

_FINAL_NAME = re.compile(r"([0-9a-f]{32})" + re.escape(SNAPSHOT_SUFFIX))


def snapshot_dir(settings: Settings) -> Path:
    return settings.data_dir / SNAPSHOT_DIR


def snapshot_file(settings: Settings, snapshot_id: str) -> Path:
    return snapshot_dir(settings) / f"{snapshot_id}{SNAPSHOT_SUFFIX}"


def write_snapshot_file(settings: Settings, snapshot_id: str, blob: bytes) -> Path:
    """Write ``FILE_MAGIC || blob`` atomically as the frame's file; returns its path."""
    directory = snapshot_dir(settings)
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = snapshot_file(settings, snapshot_id)
    tmp = directory / f".{snapshot_id}.{secrets.token_hex(8)}{TEMP_SUFFIX}"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, FILE_MAGIC + blob)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
        fsync_path(directory)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise FileSystemError(f"cannot write kept frame {snapshot_id}: {exc}") from exc
    return path


def read_snapshot_file(settings: Settings, snapshot_id: str) -> bytes:
    """The encrypted blob (without the magic); ``NotFoundError`` if the file is gone."""
    path = snapshot_file(settings, snapshot_id)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise NotFoundError(f"the file of kept frame {snapshot_id} is missing") from None
    except OSError as exc:
        raise FileSystemError(f"cannot read kept frame {snapshot_id}: {exc}") from exc
    if not data.startswith(FILE_MAGIC):
        raise IntegrityViolationError(f"the file of kept frame {snapshot_id} is not a kept frame")
    return data[len(FILE_MAGIC) :]


def stored_snapshot_ids(settings: Settings) -> set[str]:
    """Ids of the frames that have a complete file on disk."""
    directory = snapshot_dir(settings)
    if not directory.is_dir():
        return set()
    found = (_FINAL_NAME.fullmatch(entry.name) for entry in directory.iterdir())
    return {match.group(1) for match in found if match}


def remove_stray_files(settings: Settings, keep: set[str]) -> int:
    """Remove temporary files and frame files whose id is not in ``keep``; returns how many."""
    directory = snapshot_dir(settings)
    if not directory.is_dir():
        return 0
    removed = 0
    for entry in directory.iterdir():
        match = _FINAL_NAME.fullmatch(entry.name)
        stray = match.group(1) not in keep if match else entry.name.endswith(TEMP_SUFFIX)
        if stray and entry.is_file():
            entry.unlink(missing_ok=True)
            removed += 1
    return removed
