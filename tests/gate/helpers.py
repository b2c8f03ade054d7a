"""Helpers of the gate tests: the CLI on the test's own data directory."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from facegate.cli import main as cli_main


def run_cli(
    capsys: pytest.CaptureFixture[str], data_dir: Path, *args: str
) -> tuple[int, dict[str, Any]]:
    """``facegate --json --data-dir DATA_DIR ARGS``: the exit code and the last JSON line."""
    code = cli_main.main(["--json", "--data-dir", str(data_dir), *args])
    lines = capsys.readouterr().out.strip().splitlines()
    body: dict[str, Any] = json.loads(lines[-1]) if lines else {}
    return code, body
