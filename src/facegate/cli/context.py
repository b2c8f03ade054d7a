"""What every CLI command shares: settings, output mode, the store and the pipeline."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from facegate.bench.report import to_jsonable
from facegate.core.config import DetectorChoice, Engine, Settings, load_settings
from facegate.errors import FacegateError
from facegate.gate.runtime import (
    Runtime,
    build_pipeline,
    build_runtime,
    recording_model_incidents,
    site_registry,
)
from facegate.models.registry import ModelRegistry
from facegate.store import Store
from facegate.store.crypto import load_site_key
from facegate.vision.pipeline import FacePipeline
from facegate.vision.rcnn.config import SITE_DETECTOR_MODEL

#: The CLI acts as this operator in the audit log unless ``--actor`` says otherwise.
DEFAULT_ACTOR = "cli"


@dataclass
class Context:
    """Per-invocation state, built once by the root callback and passed to every command."""

    data_dir: Path | None = None
    as_json: bool = False
    actor: str = DEFAULT_ACTOR
    argv: list[str] = field(default_factory=list)
    #: ``--engine``: overrides ``FACEGATE_ENGINE`` for this invocation.
    engine: Engine | None = None
    console: Console = field(default_factory=lambda: Console(stderr=False))
    _settings: Settings | None = None
    _registry: ModelRegistry | None = None
    _pipeline: FacePipeline | None = None
    #: What ``_pipeline`` was built with: engine, detector, and the site detector's hash.
    _pipeline_key: tuple[str, str, str | None] | None = None

    def reset(
        self, data_dir: Path | None, as_json: bool, actor: str, engine: Engine | None = None
    ) -> None:
        """Start a new invocation; the pipeline is kept while its models stay the same."""
        self.data_dir, self.as_json, self.actor = data_dir, as_json, actor
        self.engine = engine
        self._settings = None
        self._registry = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings(data_dir=self.data_dir, engine=self.engine)
        return self._settings

    @property
    def registry(self) -> ModelRegistry:
        if self._registry is None:
            settings = self.settings
            self._registry = site_registry(
                settings, lambda: load_site_key(settings, database_exists=True)
            )
        return self._registry

    @property
    def pipeline(self) -> FacePipeline:
        """The pipeline of the settings' engine (``--engine`` / ``FACEGATE_ENGINE``)."""
        return self.pipeline_for(self.settings.engine)

    def pipeline_for(self, engine: Engine) -> FacePipeline:
        detector = self.settings.detector
        site_detector = (
            self.registry.entry(SITE_DETECTOR_MODEL).sha256
            if detector is DetectorChoice.RCNN and SITE_DETECTOR_MODEL in self.registry.names
            else None
        )
        key = (engine.value, detector.value, site_detector)
        if self._pipeline is None or self._pipeline_key != key:
            self._pipeline = build_pipeline(self.registry, self.settings, engine)
            self._pipeline_key = key
        return self._pipeline

    def runtime(self, store: Store) -> Runtime:
        """The face decider's parts for this invocation. The pipeline is built now (or kept
        from an earlier invocation with the same models), so a refused model file is an
        incident (R-28) before any image is read."""
        with recording_model_incidents(store):
            pipeline = self.pipeline
        return build_runtime(self.settings, store, registry=self.registry, pipelines=(pipeline,))

    @contextmanager
    def store(self) -> Iterator[Store]:
        with Store.open(self.settings) as store:
            yield store

    def emit(self, payload: dict[str, Any], human: str) -> None:
        """One result: JSON on stdout with ``--json``, else a line for people."""
        if self.as_json:
            sys.stdout.write(json.dumps(to_jsonable(payload), ensure_ascii=False) + "\n")
        else:
            self.console.print(human)


def get(ctx: typer.Context) -> Context:
    obj = ctx.find_root().obj
    if not isinstance(obj, Context):
        raise RuntimeError("CLI context missing")  # only reachable if the app is mis-wired
    return obj


def fail(context: Context, error: FacegateError) -> typer.Exit:
    """Report ``error`` (JSON or text on stderr) and return the exit to raise."""
    if context.as_json:
        detail: dict[str, object] = {"code": error.code, "message": str(error)}
        reasons = getattr(error, "reasons", None)
        if reasons:
            detail["reasons"] = list(reasons)
        sys.stdout.write(json.dumps({"error": detail}, ensure_ascii=False) + "\n")
    else:
        Console(stderr=True).print(
            f"[bold red]error[/] ({error.code}): {escape(str(error))}", highlight=False
        )
    return typer.Exit(error.exit_code)


def progress_bar(context: Context) -> Progress:
    """Progress bars on stderr, so stdout stays clean for results and ``--json``."""
    stderr = Console(stderr=True)
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=stderr,
        disable=context.as_json or not stderr.is_terminal,
    )
