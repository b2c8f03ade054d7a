"""The model registry: every model file facegate loads, with its SHA-256 and measured metrics.

Nothing is loaded at import time. A stage asks the registry for a verified path when it is
constructed; a file whose SHA-256 differs from the registry's is refused with
:class:`~facegate.errors.ModelIntegrityError`, so a swapped or corrupted model can never
make access decisions.
"""

from __future__ import annotations

import hashlib
import importlib.resources
import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from facegate.errors import ModelIntegrityError, UnknownModelError
from facegate.models.impostor_tail import ImpostorTail, parse_impostor_tail

REGISTRY_RESOURCE = "registry.json"
_HASH_CHUNK = 1 << 20


@dataclass(frozen=True, slots=True)
class OperatingPointInfo:
    """A calibrated decision threshold on the similarity score (accept when score >= threshold).

    A higher threshold is stricter: fewer false matches, more false non-matches.
    """

    name: str
    threshold: float
    target_fmr: float
    fmr_measured: float
    fnmr_measured: float
    n_impostor: int
    n_genuine: int
    calibrated_on: str
    command: str


@dataclass(frozen=True, slots=True)
class ModelEntry:
    """One model file: where it comes from, its hash, licence and published numbers.

    A packaged model's file lies in ``<package>/models/<filename>``; a site's own model
    (:mod:`facegate.models.site`) has no package and lies in ``<directory>/<filename>``.
    """

    name: str
    kind: str
    package: str | None
    filename: str | None
    sha256: str | None
    size_bytes: int | None
    licence: str
    source: str
    published_metrics: Mapping[str, Any] = field(default_factory=dict)
    operating_points: Mapping[str, OperatingPointInfo] = field(default_factory=dict)
    directory: Path | None = None
    #: The fitted tail of the impostor scores, for 1:N thresholds at a gallery size
    #: (:func:`facegate.matching.community.identification_threshold`); None: not calibrated.
    impostor_tail: ImpostorTail | None = None

    @property
    def has_file(self) -> bool:
        return self.filename is not None


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


class ModelRegistry:
    """Looks up model entries and hands out hash-verified file paths."""

    def __init__(self, entries: Mapping[str, ModelEntry]) -> None:
        self._entries = dict(entries)

    @classmethod
    def default(cls) -> ModelRegistry:
        """The registry shipped with facegate (``facegate/models/registry.json``)."""
        text = importlib.resources.files("facegate.models").joinpath(REGISTRY_RESOURCE).read_text()
        return cls(parse_entries(json.loads(text)))

    @property
    def names(self) -> list[str]:
        return sorted(self._entries)

    def entry(self, name: str) -> ModelEntry:
        try:
            return self._entries[name]
        except KeyError:
            known = ", ".join(self.names)
            raise UnknownModelError(f"unknown model {name!r}; known models: {known}") from None

    def with_operating_points(
        self, name: str, points: Mapping[str, OperatingPointInfo]
    ) -> ModelRegistry:
        """A copy whose entry ``name`` uses ``points`` (e.g. a site's own calibration)."""
        entries = dict(self._entries)
        merged = {**self.entry(name).operating_points, **points}
        entries[name] = replace(entries[name], operating_points=merged)
        return ModelRegistry(entries)

    def with_impostor_tail(self, name: str, tail: ImpostorTail) -> ModelRegistry:
        """A copy whose entry ``name`` uses ``tail`` (e.g. a site's own calibration)."""
        entries = dict(self._entries)
        entries[name] = replace(self.entry(name), impostor_tail=tail)
        return ModelRegistry(entries)

    def with_models(self, entries: Mapping[str, ModelEntry]) -> ModelRegistry:
        """A copy with ``entries`` added (e.g. a site's own models).

        Raises:
            ValueError: an entry would replace one already here, naming it.
        """
        clashes = sorted(set(entries) & set(self._entries))
        if clashes:
            raise ValueError(f"model(s) already in the registry: {', '.join(clashes)}")
        return ModelRegistry({**self._entries, **entries})

    def default_path(self, name: str) -> Path:
        """Where the model's file is installed: its ``directory``, else its Python package."""
        entry = self.entry(name)
        if entry.directory is not None and entry.filename is not None:
            return entry.directory / entry.filename
        if entry.package is None or entry.filename is None:
            raise UnknownModelError(f"model {name!r} has no file (it is built into its library)")
        return Path(
            str(importlib.resources.files(entry.package).joinpath("models", entry.filename))
        )

    def verified_path(self, name: str, path: Path | None = None) -> Path:
        """The model's file, after checking its SHA-256 against the registry.

        Args:
            name: registry name of the model.
            path: a copy of the file to use instead of the installed one.

        Raises:
            UnknownModelError: no such model, or it has no file.
            ModelIntegrityError: the file is missing or its hash differs.
        """
        entry = self.entry(name)
        file_path = path if path is not None else self.default_path(name)
        # Hashed on every call, never cached by path or mtime: a file swapped after an
        # earlier check must not load unverified. The caller loads right after.
        try:
            actual = sha256_of(file_path)
        except OSError as exc:
            raise ModelIntegrityError(f"model {name!r}: file {file_path} is missing") from exc
        if actual != entry.sha256:
            raise ModelIntegrityError(
                f"model {name!r}: {file_path} has SHA-256 {actual}, the registry expects "
                f"{entry.sha256}; refusing to load a file that may have been altered"
            )
        return file_path


def parse_entries(document: Mapping[str, Any]) -> dict[str, ModelEntry]:
    entries: dict[str, ModelEntry] = {}
    for name, raw in document["models"].items():
        points = {
            point_name: OperatingPointInfo(name=point_name, **point)
            for point_name, point in raw.get("operating_points", {}).items()
        }
        entries[name] = ModelEntry(
            name=name,
            kind=raw["kind"],
            package=raw.get("package"),
            filename=raw.get("filename"),
            sha256=raw.get("sha256"),
            size_bytes=raw.get("size_bytes"),
            licence=raw["licence"],
            source=raw["source"],
            published_metrics=raw.get("published_metrics", {}),
            operating_points=points,
            impostor_tail=(
                parse_impostor_tail(raw["impostor_tail"]) if "impostor_tail" in raw else None
            ),
        )
    return entries
