"""The release's rule-test results, shipped inside the package (R-33).

A deployed site has no test run of its own, so the compliance report it shows reads the
results of the run that released it: ``freeze`` turns a rule-results file
(``privacy.run_results``) into ``release-rule-results.json`` beside this module, with the
facegate version, the git revision, each rule's status and tests, a SHA-256 of the test
sources and a SHA-256 of the whole canonical content. ``load_release`` reads it back and
says whether it is VERIFIED, ALTERED (the hash does not match: someone edited it), STALE
(the hash matches but the rule catalogue changed since) or MISSING.

The hash is a checksum, not a signature: it catches an edited or damaged file, not someone
who edits the file and recomputes the hash. Installed from a wheel, the file is also checked
against the SHA-256 the installer wrote in facegate's ``RECORD``, so such an edit must change
two files to go unnoticed (still no signature: both are on the same disk). Regenerate the
file at release time with ``make release-results`` (after the full test run).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from importlib.metadata import Distribution, PackageNotFoundError, distribution
from pathlib import Path
from typing import Any

from facegate.errors import InvalidRecordError
from facegate.privacy.rule_status import rule_status
from facegate.privacy.rules import Rule, all_rules
from facegate.privacy.run_results import RuleRun, run_from_json, run_to_json, write_text_atomic

RELEASE_FORMAT = 1
#: The packaged file, beside this module (``package-data`` ships ``privacy/*.json``).
RELEASE_RESULTS_PATH = Path(__file__).resolve().parent / "release-rule-results.json"
#: Environment variable naming another release results file (tests, a vendor's build).
RELEASE_RESULTS_ENV = "FACEGATE_RELEASE_RESULTS"
#: What regenerates the packaged file from the last full test run.
FREEZE_COMMAND = "make release-results"
_HASH_KEY = "sha256"
#: The installed distribution whose ``RECORD`` lists the packaged file.
DISTRIBUTION = "facegate"
PACKAGE_FILE_MODE = 0o644


class ReleaseState(StrEnum):
    VERIFIED = "verified"
    #: The content does not match its SHA-256: edited or damaged after it was frozen.
    ALTERED = "altered"
    #: Intact, but made for another rule catalogue (a rule added, removed or renamed since).
    STALE = "stale"
    MISSING = "missing"


@dataclass(frozen=True, slots=True)
class ReleaseResults:
    """The packaged results and whether they can be trusted."""

    state: ReleaseState
    #: The frozen run; None when MISSING or ALTERED (an altered file proves nothing).
    run: RuleRun | None
    facegate_version: str | None
    git_revision: str | None
    frozen_at: datetime | None
    #: The SHA-256 the file states (hex); None when MISSING.
    sha256: str | None
    tests_sha256: str | None
    #: What is wrong (rule ids missing or extra, the hash that was expected), else None.
    problem: str | None


def release_results_path() -> Path:
    """``$FACEGATE_RELEASE_RESULTS`` when set, else the packaged file."""
    return Path(os.environ.get(RELEASE_RESULTS_ENV) or RELEASE_RESULTS_PATH)


def canonical_bytes(content: Mapping[str, Any]) -> bytes:
    """The bytes the hash covers: every field but the hash itself, keys sorted, compact."""
    body = {key: value for key, value in content.items() if key != _HASH_KEY}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def content_sha256(content: Mapping[str, Any]) -> str:
    return hashlib.sha256(canonical_bytes(content)).hexdigest()


def tests_sha256(repo_root: Path, run: RuleRun) -> str:
    """One SHA-256 over the source files of the run's rule tests (path and bytes, sorted),
    so two releases' results can be told to come from the same tests."""
    digest = hashlib.sha256()
    for name in sorted({test.nodeid.split("::", 1)[0] for test in run.tests}):
        digest.update(name.encode() + b"\0")
        source = repo_root / name
        digest.update(source.read_bytes() if source.is_file() else b"<missing>")
        digest.update(b"\0")
    return digest.hexdigest()


def freeze(
    run: RuleRun,
    *,
    facegate_version: str,
    git_revision: str | None,
    frozen_at: datetime,
    tests_digest: str,
    rules: Iterable[Rule] | None = None,
) -> dict[str, Any]:
    """The packaged file's content for ``run``: the run itself, each rule's status and
    tests (so a reader needs no code to see them), and the hash of it all."""
    per_rule = []
    for rule in all_rules() if rules is None else rules:
        status, note, tests = rule_status(rule.id, run)
        per_rule.append(
            {
                "id": rule.id.value,
                "title": rule.title,
                "status": status.value,
                "status_note": note,
                "tests": [test.nodeid for test in tests],
            }
        )
    content: dict[str, Any] = {
        "format": RELEASE_FORMAT,
        "facegate_version": facegate_version,
        "git_revision": git_revision,
        "frozen_at": frozen_at.isoformat(),
        "tests_sha256": tests_digest,
        "rules": per_rule,
        "run": run_to_json(run),
    }
    content[_HASH_KEY] = content_sha256(content)
    return content


def write_release(content: Mapping[str, Any], path: Path = RELEASE_RESULTS_PATH) -> Path:
    written = write_text_atomic(path, json.dumps(content, indent=1, ensure_ascii=False) + "\n")
    # Package data: readable by whichever user the service runs as, like the code beside it.
    written.chmod(PACKAGE_FILE_MODE)
    return written


def installed_sha256(path: Path, installed: Distribution | None = None) -> str | None:
    """The SHA-256 (hex) the installer recorded for ``path`` in ``installed``'s ``RECORD``
    (default: facegate's); None from a source checkout or an editable install, which record
    no such file."""
    if installed is None:
        try:
            installed = distribution(DISTRIBUTION)
        except PackageNotFoundError:
            return None
    target = path.resolve()
    for entry in installed.files or ():
        if entry.name != path.name or entry.hash is None or entry.hash.mode != "sha256":
            continue
        if Path(str(entry.locate())).resolve() == target:
            digest = entry.hash.value
            return base64.urlsafe_b64decode(digest + "=" * (-len(digest) % 4)).hex()
    return None


def load_release(
    path: Path = RELEASE_RESULTS_PATH,
    rules: Iterable[Rule] | None = None,
    installed: Distribution | None = None,
) -> ReleaseResults:
    """Read and check the packaged results against their hash, the installer's record of
    the file (``installed_sha256``) and ``rules`` (default: the catalogue). Never raises for
    a bad file: the report says what is wrong instead."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return _without_run(ReleaseState.MISSING, None, f"no release results at {path.name}")
    try:
        content = json.loads(data.decode("utf-8"))
        if not isinstance(content, dict):
            raise TypeError("the top level is not an object")
        stated = str(content[_HASH_KEY])
    except (UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError) as exc:
        return _without_run(ReleaseState.ALTERED, None, f"unreadable: {exc}")
    if content_sha256(content) != stated:
        return _without_run(ReleaseState.ALTERED, stated, "the content does not match its SHA-256")
    recorded = installed_sha256(path, installed)
    if recorded is not None and recorded != hashlib.sha256(data).hexdigest():
        return _without_run(
            ReleaseState.ALTERED, stated, "the file is not the one facegate was installed with"
        )
    try:
        if content.get("format") != RELEASE_FORMAT:
            raise InvalidRecordError(
                f"format {content.get('format')!r} is not {RELEASE_FORMAT}",
                reason="release_format",
            )
        run = run_from_json(content["run"], path.name)
        frozen_ids = [str(item["id"]) for item in content["rules"]]
        frozen_titles = {str(item["id"]): str(item["title"]) for item in content["rules"]}
        frozen_at = datetime.fromisoformat(str(content["frozen_at"]))
    except (InvalidRecordError, KeyError, TypeError, ValueError) as exc:
        return _without_run(ReleaseState.ALTERED, stated, f"not a release results file: {exc}")
    catalogue = tuple(all_rules() if rules is None else rules)
    problem = _stale(catalogue, frozen_ids, frozen_titles)
    return ReleaseResults(
        state=ReleaseState.STALE if problem else ReleaseState.VERIFIED,
        run=run,
        facegate_version=_optional(content.get("facegate_version")),
        git_revision=_optional(content.get("git_revision")),
        frozen_at=frozen_at,
        sha256=stated,
        tests_sha256=_optional(content.get("tests_sha256")),
        problem=problem,
    )


def _stale(
    catalogue: tuple[Rule, ...], frozen_ids: list[str], frozen_titles: Mapping[str, str]
) -> str | None:
    expected = [rule.id.value for rule in catalogue]
    missing = [rule_id for rule_id in expected if rule_id not in frozen_titles]
    extra = [rule_id for rule_id in frozen_ids if rule_id not in expected]
    renamed = [
        rule.id.value
        for rule in catalogue
        if rule.id.value in frozen_titles and frozen_titles[rule.id.value] != rule.title
    ]
    parts = []
    if missing:
        parts.append(f"rules missing: {', '.join(missing)}")
    if extra:
        parts.append(f"rules no longer in the catalogue: {', '.join(extra)}")
    if renamed:
        parts.append(f"titles changed: {', '.join(renamed)}")
    return "; ".join(parts) or None


def _without_run(state: ReleaseState, stated: str | None, problem: str) -> ReleaseResults:
    return ReleaseResults(
        state=state,
        run=None,
        facegate_version=None,
        git_revision=None,
        frozen_at=None,
        sha256=stated,
        tests_sha256=None,
        problem=problem,
    )


def _optional(value: object) -> str | None:
    return None if value is None else str(value)
