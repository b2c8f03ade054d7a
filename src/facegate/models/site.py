"""A site's own models: files trained on the site's pictures, never shipped in the package.

They lie in ``<data_dir>/models/``, listed in ``<data_dir>/models/site_models.json``:

    {"format": "facegate-site-models/1",
     "models": {name: {"kind", "filename", "sha256", "size_bytes", "licence", "source",
                       "published_metrics"}},
     "signature": HMAC-SHA256 of the canonical JSON of format and models}

signed with the site key as ``calibration.json`` is (:meth:`SiteKey.sign_config`), so an
edited list is refused with :class:`~facegate.errors.ConfigError`. Each ``filename`` is
relative to that folder. A swapped file is refused on every load, as a packaged one is:
:meth:`ModelRegistry.verified_path` hashes it each time
(:class:`~facegate.errors.ModelIntegrityError`).

>>> entry = install_site_model(data_dir, key, "site_rcnn_detector", "detector",  # doctest: +SKIP
...                            Path("weights.pt"), "site's own", "facegate detector train")
>>> registry = apply_site_models(ModelRegistry.default(), data_dir, key)        # doctest: +SKIP
>>> registry.verified_path("site_rcnn_detector")                                # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any, BinaryIO

from facegate.errors import ConfigError, FacegateError
from facegate.models.registry import ModelEntry, ModelRegistry, parse_entries
from facegate.store.audit import canonical_json
from facegate.store.crypto import SiteKey

#: Folder of the site's model files and their list, inside the data directory.
SITE_MODELS_DIR = "models"
SITE_MODELS_FILE = "site_models.json"
#: Signed together with the entries, so that another signed file of the site (e.g.
#: ``calibration.json``) cannot be passed off as a model list.
SITE_MODELS_FORMAT = "facegate-site-models/1"
#: The kinds a site may install: the same as the packaged ones (R-26: nothing that infers
#: attributes of a person).
SITE_MODEL_KINDS = frozenset({"detector", "landmarks", "embedding", "liveness"})
#: Registry names are snake_case words; nothing that could be read as a path.
_MODEL_NAME = re.compile(r"[a-z0-9][a-z0-9_]{0,63}")
_SHA256_HEX = re.compile(r"[0-9a-f]{64}")
#: Characters of the hash in an installed file's name: reinstalling writes a new file
#: beside the old one, so the list and the file it names never disagree.
_FILENAME_HASH_CHARS = 16
_COPY_CHUNK = 1 << 20


def site_models_dir(data_dir: Path) -> Path:
    return data_dir / SITE_MODELS_DIR


def site_models_path(data_dir: Path) -> Path:
    return site_models_dir(data_dir) / SITE_MODELS_FILE


def install_site_model(
    data_dir: Path,
    site_key: SiteKey,
    name: str,
    kind: str,
    source_file: Path,
    licence: str,
    source: str,
    metrics: Mapping[str, Any] | None = None,
    *,
    check: Callable[[Path], object] | None = None,
) -> ModelEntry:
    """Copy ``source_file`` into ``<data_dir>/models/`` and list it, signed, under ``name``.

    The copy is written to a temporary file, hashed as it is written, passed to ``check``
    (e.g. a loader that raises on a file it cannot use) and only then renamed into place;
    the list is rewritten atomically after that, keeping the site's other entries. If
    anything fails or the process is killed, no partial file is left under the final
    name and the list still names the previous, intact file.

    Args:
        name: registry name (snake_case); must not be a packaged model's.
        kind: one of :data:`SITE_MODEL_KINDS`.
        licence, source: where the weights come from (e.g. the training command).
        metrics: measured numbers to publish with the entry (JSON values).
        check: called with the copied file before it is installed.

    Returns:
        The entry as :func:`apply_site_models` will read it back.

    Raises:
        ValueError: ``name`` or ``kind`` is not allowed, naming the parameter.
        ConfigError: ``name`` shadows a packaged model, or the existing list is invalid.
        OSError: ``source_file`` cannot be read or the data directory written.
    """
    check_model_name(name)
    if kind not in SITE_MODEL_KINDS:
        raise ValueError(f"kind must be one of {', '.join(sorted(SITE_MODEL_KINDS))}, got {kind!r}")
    if name in ModelRegistry.default().names:
        raise ConfigError(f"{name!r} is a packaged model; a site model needs a name of its own")
    path = site_models_path(data_dir)
    # Read (and verify) before writing: re-signing an edited list would launder the edit.
    models = _read_models(path, site_key)
    directory = site_models_dir(data_dir)
    copied: dict[str, Any] = {}

    def copy(tmp: Path) -> None:
        with source_file.open("rb") as src, tmp.open("wb") as dst:
            copied["size"], copied["sha256"] = _copy_hashing(src, dst)
        if check is not None:
            check(tmp)

    staged = _staged(directory, f".{name}.", copy)
    sha256: str = copied["sha256"]
    filename = f"{name}-{sha256[:_FILENAME_HASH_CHARS]}{source_file.suffix}"
    previous = models.get(name, {}).get("filename")
    entry = {
        "kind": kind,
        "filename": filename,
        "sha256": sha256,
        "size_bytes": copied["size"],
        "licence": licence,
        "source": source,
        "published_metrics": dict(metrics or {}),
    }
    models[name] = entry
    try:
        os.replace(staged, directory / filename)
        _write_listing(path, models, site_key)
    except BaseException:
        staged.unlink(missing_ok=True)
        if filename != previous:  # not listed: the old list still names the old file
            (directory / filename).unlink(missing_ok=True)
        raise
    if isinstance(previous, str) and previous != filename:
        (directory / previous).unlink(missing_ok=True)
    return _entries(path, {name: entry}, directory)[name]


def apply_site_models(registry: ModelRegistry, data_dir: Path, site_key: SiteKey) -> ModelRegistry:
    """``registry`` with the site's own models added, if the site has any.

    Raises:
        ConfigError: the list is unreadable, its signature does not match the site key
            (edited, or from another site), an entry is malformed, or a name is already in
            ``registry`` (a site model may not shadow a packaged one).
    """
    path = site_models_path(data_dir)
    models = _read_models(path, site_key)
    if not models:
        return registry
    entries = _entries(path, models, site_models_dir(data_dir))
    shadowed = sorted(set(entries) & set(registry.names))
    if shadowed:
        raise ConfigError(
            f"{path}: {', '.join(shadowed)} would replace a packaged model; rename the site "
            "model (facegate detector install --name)"
        )
    return registry.with_models(entries)


def _read_models(path: Path, site_key: SiteKey) -> dict[str, dict[str, Any]]:
    """The signed entries of ``path``; empty when the site has installed none."""
    if not path.exists():
        return {}
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        payload = {"format": document["format"], "models": document["models"]}
        signature = document["signature"]
        if not isinstance(signature, str) or not site_key.config_signature_valid(
            canonical_json(payload).encode("utf-8"), signature
        ):
            raise ConfigError(
                f"{path}: signature does not match this site's key; the list of site models "
                "may have been edited. Install the model again (facegate detector install) "
                "or remove the file."
            )
        if payload["format"] != SITE_MODELS_FORMAT:
            raise ValueError(f"format {payload['format']!r}, expected {SITE_MODELS_FORMAT!r}")
        models = payload["models"]
        if not isinstance(models, dict) or not all(isinstance(v, dict) for v in models.values()):
            raise ValueError("'models' must map names to entries")
    except ConfigError:
        raise
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"{path}: not a valid site model list ({exc})") from exc
    return models


def _entries(
    path: Path, models: Mapping[str, Mapping[str, Any]], directory: Path
) -> dict[str, ModelEntry]:
    try:
        for name, raw in models.items():
            check_model_name(name)
            if raw.get("kind") not in SITE_MODEL_KINDS:
                raise ValueError(f"{name}: kind {raw.get('kind')!r} is not allowed")
            filename = raw.get("filename")
            if not isinstance(filename, str) or not _is_plain_filename(filename):
                raise ValueError(f"{name}: filename {filename!r} is not a file in {directory}")
            if not isinstance(raw.get("sha256"), str) or not _SHA256_HEX.fullmatch(raw["sha256"]):
                raise ValueError(f"{name}: sha256 must be 64 lowercase hex digits")
            if raw.get("package") is not None:
                raise ValueError(f"{name}: a site model has no package")
        parsed = parse_entries({"models": models})
    except (ValueError, KeyError, TypeError, FacegateError) as exc:
        raise ConfigError(f"{path}: not a valid site model list ({exc})") from exc
    return {name: replace(entry, directory=directory) for name, entry in parsed.items()}


def check_model_name(name: str) -> None:
    """Raises ValueError unless ``name`` can be a site model's registry name."""
    if not _MODEL_NAME.fullmatch(name):
        raise ValueError(
            f"name must be 1-64 lowercase letters, digits or underscores, got {name!r}"
        )


def _is_plain_filename(filename: str) -> bool:
    return Path(filename).name == filename and not filename.startswith(".")


def _write_listing(path: Path, models: Mapping[str, Any], site_key: SiteKey) -> None:
    payload = {"format": SITE_MODELS_FORMAT, "models": models}
    signature = site_key.sign_config(canonical_json(payload).encode("utf-8"))
    text = json.dumps({**payload, "signature": signature}, indent=2, ensure_ascii=False)
    staged = _staged(path.parent, f".{path.name}.", lambda tmp: _write_text(tmp, text))
    os.replace(staged, path)


def _copy_hashing(src: BinaryIO, dst: BinaryIO) -> tuple[int, str]:
    """Copies ``src`` to ``dst`` (synced to disk); returns the size and SHA-256 written."""
    digest = hashlib.sha256()
    size = 0
    while chunk := src.read(_COPY_CHUNK):
        digest.update(chunk)
        dst.write(chunk)
        size += len(chunk)
    dst.flush()
    os.fsync(dst.fileno())
    return size, digest.hexdigest()


def _write_text(path: Path, text: str) -> None:
    with path.open("w", encoding="utf-8") as handle:
        handle.write(text + "\n")
        handle.flush()
        os.fsync(handle.fileno())


def _staged(directory: Path, prefix: str, write: Callable[[Path], object]) -> Path:
    """A temporary file in ``directory`` filled by ``write``; removed if ``write`` fails.

    The caller renames it into place: a rename within one folder is atomic, so readers see
    the old file or the whole new one, never part of it.
    """
    directory.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=directory, prefix=prefix, suffix=".partial")
    os.close(fd)
    staged = Path(name)
    try:
        write(staged)
    except BaseException:
        staged.unlink(missing_ok=True)
        raise
    return staged
