"""A gate never ships the attacks: no runtime package imports :mod:`facegate.audit` or the
audit extra's libraries (ART, fairlearn, onnx, onnx2torch). Runs without the extra."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "facegate"
AUDIT_ONLY = ("facegate.audit", "art", "fairlearn", "onnx2torch", "onnx")
_AUDIT_IMPORT = re.compile(
    r"^\s*(?:from|import)\s+(?:facegate\.audit|art|fairlearn|onnx2torch|onnx)\b.*$", re.MULTILINE
)


def test_no_runtime_package_imports_the_audit() -> None:
    offenders = []
    for path in SRC.rglob("*.py"):
        relative = path.relative_to(SRC)
        if relative.parts[0] == "audit" or relative == Path("cli/security_audit.py"):
            continue
        for match in _AUDIT_IMPORT.finditer(path.read_text(encoding="utf-8")):
            offenders.append(f"{relative}: {match.group(0).strip()}")
    assert offenders == []
    code = (
        "import sys, facegate.api.app, facegate.gate.decider, facegate.cli.main; "
        f"bad = [m for m in sys.modules if m.split('.')[0] in {AUDIT_ONLY[1:]!r} "
        "or m.startswith('facegate.audit')]; print(bad); sys.exit(1 if bad else 0)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
