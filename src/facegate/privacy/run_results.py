"""The rule-results file: what each test marked ``rule(...)`` did in the last pytest run.

Written by the pytest plugin ``facegate.testing.rule_results``, read by the compliance
report. Plain JSON, so the report never needs pytest::

    {"format": 1, "started_at": "...", "finished_at": "...", "exit_status": 0,
     "pytest_args": ["tests"], "tests": [{"nodeid": "...", "rules": ["R-20"],
     "outcome": "passed", "reason": null, "duration_s": 0.01}]}
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from facegate.errors import InvalidRecordError

RESULTS_FORMAT = 1
#: Environment variable naming the results file (read by the plugin and the CLI).
RESULTS_ENV = "FACEGATE_RULE_RESULTS"
#: Where results go when neither the variable nor the ini option says otherwise.
DEFAULT_RESULTS_PATH = Path("artifacts/compliance/rule-results.json")


class TestOutcome(StrEnum):
    """What one test did. An error in setup or teardown counts as FAILED."""

    __test__ = False  # not a pytest test class, despite the name

    PASSED = "passed"
    FAILED = "failed"
    #: Skipped, or an expected failure (xfail): either way it proves nothing.
    SKIPPED = "skipped"


@dataclass(frozen=True, slots=True)
class TestResult:
    """One test that carries rule ids, and its outcome."""

    __test__ = False

    nodeid: str
    #: The ids as written in the marker (validated against the catalogue when collected).
    rules: tuple[str, ...]
    outcome: TestOutcome
    #: Why it was skipped or failed (one line), else None.
    reason: str | None = None
    duration_s: float = 0.0


@dataclass(frozen=True, slots=True)
class RuleRun:
    """One pytest run's rule results."""

    started_at: datetime
    finished_at: datetime
    exit_status: int
    pytest_args: tuple[str, ...]
    tests: tuple[TestResult, ...]


def run_to_json(run: RuleRun) -> dict[str, Any]:
    return {
        "format": RESULTS_FORMAT,
        "started_at": run.started_at.isoformat(),
        "finished_at": run.finished_at.isoformat(),
        "exit_status": run.exit_status,
        "pytest_args": list(run.pytest_args),
        "tests": [
            {
                "nodeid": test.nodeid,
                "rules": list(test.rules),
                "outcome": test.outcome.value,
                "reason": test.reason,
                "duration_s": round(test.duration_s, 6),
            }
            for test in run.tests
        ],
    }


def run_from_json(data: object, source: str = "rule results") -> RuleRun:
    """Parse ``run_to_json``'s output; ``InvalidRecordError`` naming what is wrong."""
    try:
        if not isinstance(data, Mapping):
            raise TypeError("the top level is not an object")
        if data.get("format") != RESULTS_FORMAT:
            raise ValueError(f"format {data.get('format')!r} is not {RESULTS_FORMAT}")
        tests = tuple(_test_from_json(item) for item in data["tests"])
        return RuleRun(
            started_at=_aware(data["started_at"]),
            finished_at=_aware(data["finished_at"]),
            exit_status=int(data["exit_status"]),
            pytest_args=tuple(str(arg) for arg in data["pytest_args"]),
            tests=tests,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidRecordError(
            f"{source} is not a rule-results file: {exc}", reason="bad_results_file"
        ) from None


def read_run(path: Path) -> RuleRun | None:
    """The run stored at ``path``; None when the file does not exist (tests not run)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidRecordError(
            f"{path} is not valid JSON: {exc}", reason="bad_results_file"
        ) from None
    return run_from_json(data, str(path))


def write_run(run: RuleRun, path: Path) -> Path:
    """Write ``run`` to ``path`` atomically, creating its directories."""
    return write_text_atomic(path, json.dumps(run_to_json(run), indent=2) + "\n")


def write_text_atomic(path: Path, text: str) -> Path:
    """Write UTF-8 ``text`` to a temp file beside ``path``, then rename it into place:
    readers never see half a file, and a failed write leaves the old one intact."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def _test_from_json(item: object) -> TestResult:
    if not isinstance(item, Mapping):
        raise TypeError("a test entry is not an object")
    reason = item.get("reason")
    return TestResult(
        nodeid=str(item["nodeid"]),
        rules=tuple(str(rule) for rule in item["rules"]),
        outcome=TestOutcome(item["outcome"]),
        reason=None if reason is None else str(reason),
        duration_s=float(item.get("duration_s", 0.0)),
    )


def _aware(text: object) -> datetime:
    when = datetime.fromisoformat(str(text))
    if when.tzinfo is None:
        raise ValueError(f"time {text!r} has no timezone")
    return when
