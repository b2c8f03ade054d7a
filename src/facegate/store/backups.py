"""Backups of the main database, never of the key store (R-23).

A backup is a consistent copy of the main SQLite database made with SQLite's online backup
API while the store is in use: ``data_dir/backups/facegate-<UTC time>.sqlite``, mode 0600,
one self-contained file.

Why the key store is never included: every subject's and every kept frame's data key lives
there, and destroying a key is how deletion reaches copies that facegate cannot reach any
more, old backups included (crypto-shredding). A backup that also held the keys would bring
every deleted template back. The price is deliberate: if the key store is lost, templates
and kept frames are lost and people re-enroll; consents, receipts and the audit log, which
are in the backup, stay readable. Kept frames' files are not in the backup either.

``restore`` puts a backup back while the store is offline (stop every process using the
data dir first). The erasures that happened after the backup was taken are replayed from
the key store's erasure log, so a restore never brings back a deleted person, a withdrawn
consent, or a template whose key is gone; the revocations from its revocation log, so a
revoked card, PIN, spent code, device key or replaced admin password stays revoked; and
everyone is signed out (``store.revocations``).
"""

from __future__ import annotations

import builtins
import hashlib
import logging
import os
import re
import secrets
import sqlite3
from contextlib import closing, suppress
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

from alembic.script import ScriptDirectory
from sqlalchemy.orm import Session

from facegate.core.config import Settings
from facegate.errors import (
    ConfigError,
    FileSystemError,
    IntegrityViolationError,
    InvalidRecordError,
    StoreError,
)
from facegate.store.audit import AuditAction, check_key_matches, verify_audit_chain
from facegate.store.audit_anchor import seal_after_upgrade
from facegate.store.crypto import load_site_key
from facegate.store.engine import (
    BUSY_TIMEOUT_MS,
    fsync_path,
    make_engine,
    prepare_sqlite_file,
    sqlite_path,
)
from facegate.store.migrate import alembic_config, current_revision, upgrade_to_head
from facegate.store.module import StoreModule
from facegate.store.reconcile import RESTORE_MARKER
from facegate.store.records import BackupInfo, RestoreReport
from facegate.store.schema import utcnow

logger = logging.getLogger(__name__)

BACKUP_DIR = "backups"
BACKUP_PREFIX = "facegate-"
BACKUP_SUFFIX = ".sqlite"
#: UTC, to the microsecond, so two backups in one second do not collide.
TIMESTAMP_FORMAT = "%Y%m%dT%H%M%S%fZ"
#: The first 16 bytes of every SQLite database file.
SQLITE_MAGIC = b"SQLite format 3\x00"
_COPY_CHUNK = 1 << 20
_BACKUP_NAME = re.compile(re.escape(BACKUP_PREFIX) + r"(\d{8}T\d{12}Z)" + re.escape(BACKUP_SUFFIX))
_SIDE_FILES = ("-wal", "-shm", "-journal")


class Backups(StoreModule):
    """Backups of the main database, never of the key store (R-23)."""

    def create(self, *, actor: str) -> BackupInfo:
        """Copy the main database now, consistently, into ``data_dir/backups``.

        Audited as ``backup.created`` (file name, size and SHA-256).
        """
        source = _database_path(self._store.settings)
        directory = backup_dir(self._store.settings)
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        created_at = utcnow()
        name = f"{BACKUP_PREFIX}{created_at.strftime(TIMESTAMP_FORMAT)}{BACKUP_SUFFIX}"
        path = directory / name
        tmp = _private_temp(directory, name)
        try:
            with closing(_connect(source)) as src, closing(_connect(tmp)) as dst:
                src.backup(dst)
                # One self-contained file: no -wal beside it to forget when copying it away.
                dst.execute("PRAGMA journal_mode = DELETE")
            fsync_path(tmp)
            os.replace(tmp, path)
            fsync_path(directory)
        except (OSError, sqlite3.Error) as exc:
            _remove(tmp)
            raise StoreError(f"backup failed: {exc}") from exc
        size = path.stat().st_size
        with self._store.transaction() as session:
            self._store.audit(
                session,
                actor,
                AuditAction.BACKUP_CREATED,
                detail={"file": name, "bytes": size, "sha256": _sha256(path)},
            )
        logger.info("backup written to %s", path)
        # Anchors the head past the copy: that copy's sealed head cannot hide a later cut.
        self._store.audit_receipts.write()
        return BackupInfo(name=name, path=path, created_at=created_at, size_bytes=size)

    def list(self) -> builtins.list[BackupInfo]:
        """The backups in ``data_dir/backups``, oldest first."""
        return list_backups(self._store.settings)


def backup_dir(settings: Settings) -> Path:
    return settings.data_dir / BACKUP_DIR


def list_backups(settings: Settings) -> list[BackupInfo]:
    directory = backup_dir(settings)
    if not directory.is_dir():
        return []
    found = []
    for entry in directory.iterdir():
        match = _BACKUP_NAME.fullmatch(entry.name)
        if match is None or not entry.is_file():
            continue
        created_at = datetime.strptime(match.group(1), TIMESTAMP_FORMAT).replace(tzinfo=UTC)
        found.append(BackupInfo(entry.name, entry, created_at, entry.stat().st_size))
    return sorted(found, key=lambda info: info.created_at)


def restore(settings: Settings, source: Path, *, actor: str) -> RestoreReport:
    """Replace the main database with the backup at ``source``; the store must be offline.

    The backup is checked on a private copy first: a SQLite file, intact, a facegate
    database at a known schema revision, written with this site key, its audit chain whole.
    Anything else raises ``InvalidRecordError`` or ``IntegrityViolationError`` and the live
    database is not touched. Then the copy replaces the live database in one SQLite
    transaction, the store is opened (migrating an older revision), and every erasure the
    key store knows of is replayed, each with a receipt (reason ``reconcile``), then every
    revocation it knows of, and every session and sign-in code is ended. If the process dies
    part way, the next open finishes the replay.
    """
    from facegate.store.service import Store  # the service imports this module

    live = _database_path(settings)
    directory = backup_dir(settings)
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    copy = _private_temp(directory, "restore")
    try:
        _copy_private(source, copy)
        revision = _checked(settings, copy)
        prepare_sqlite_file(f"sqlite:///{live.resolve()}")
        marker = settings.data_dir / RESTORE_MARKER
        marker.touch(mode=0o600)
        try:
            with closing(_connect(copy)) as src, closing(_connect(live)) as dst:
                src.backup(dst)
        except sqlite3.Error as exc:
            marker.unlink(missing_ok=True)
            raise StoreError(f"restore failed, the live database is unchanged: {exc}") from exc
    finally:
        _remove(copy)
    with Store.open(settings) as store:
        report = store.last_reconcile
        assert report is not None  # set by every open
        with store.transaction() as session:
            store.audit(
                session,
                actor,
                AuditAction.BACKUP_RESTORED,
                detail={
                    "file": source.name,
                    "revision": revision,
                    "subjects_erased": report.subjects_erased,
                    "consents_withdrawn": report.consents_withdrawn,
                    "snapshots_removed": report.snapshots_removed,
                    "receipts": len(report.receipts),
                    # The rewind on record: the head the log had, as its receipt names it.
                    **store.audit_receipts.replaced_head(),
                    **asdict(report.revocations),
                },
            )
        store.audit_receipts.write(rewound=True)
    logger.warning(
        "restored %s; replayed %d erasure(s) that happened after it was taken",
        source.name,
        len(report.receipts),
    )
    return RestoreReport(
        source=source,
        revision=revision,
        receipts=tuple(report.receipts),
        subjects_erased=report.subjects_erased,
        consents_withdrawn=report.consents_withdrawn,
        snapshots_removed=report.snapshots_removed,
        keys_destroyed=report.keys_destroyed,
        revocations=report.revocations,
    )


def known_revisions() -> set[str]:
    """Every schema revision this facegate can migrate from."""
    scripts = ScriptDirectory.from_config(alembic_config())
    return {script.revision for script in scripts.walk_revisions()}


def _checked(settings: Settings, copy: Path) -> str:
    """Check the private copy of a backup and migrate it to head; returns its revision."""
    with copy.open("rb") as handle:
        if handle.read(len(SQLITE_MAGIC)) != SQLITE_MAGIC:
            raise InvalidRecordError(
                "the file is not a SQLite database, so not a facegate backup", reason="not_a_backup"
            )
    try:
        with closing(_connect(copy)) as connection:
            (result,) = connection.execute("PRAGMA quick_check").fetchone()
    except sqlite3.DatabaseError as exc:
        raise InvalidRecordError(
            f"the backup cannot be read as a database: {exc}", reason="not_a_backup"
        ) from exc
    if result != "ok":
        raise IntegrityViolationError(f"the backup is damaged (quick_check: {result})")
    engine = make_engine(f"sqlite:///{copy.resolve()}")
    try:
        with engine.connect() as connection:
            revision = current_revision(connection)
        if revision not in known_revisions():
            raise InvalidRecordError(
                "the file is not a facegate database at a known schema revision "
                f"(found {revision!r}; a key store or a newer facegate's database?)",
                reason="not_a_backup",
            )
        site_key = load_site_key(settings, database_exists=True)
        upgrade_to_head(engine, after_upgrade=seal_after_upgrade(site_key))
        with Session(engine) as session:
            check_key_matches(session, site_key)
            chain = verify_audit_chain(session, site_key)
        if not chain.ok:
            raise IntegrityViolationError(f"the backup's audit chain is broken: {chain.reason}")
    except StoreError:
        raise
    except Exception as exc:
        raise InvalidRecordError(
            f"the file is not a usable facegate backup: {exc}", reason="not_a_backup"
        ) from exc
    finally:
        engine.dispose()
    return revision


def _database_path(settings: Settings) -> Path:
    path = sqlite_path(settings.resolved_database_url)
    if path is None:
        raise ConfigError(
            "facegate's backups copy a SQLite database file; for PostgreSQL use pg_dump "
            "and pg_restore"
        )
    return path


def _connect(path: Path) -> sqlite3.Connection:
    connection = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
    connection.execute("PRAGMA secure_delete = ON")
    return connection


def _private_temp(directory: Path, name: str) -> Path:
    path = directory / f".{name}.{secrets.token_hex(8)}.tmp"
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    return path


def _copy_private(source: Path, target: Path) -> None:
    """Copy ``source`` (and a -wal beside it, if any) to the private ``target``."""
    if not source.is_file():
        raise InvalidRecordError(f"no backup file at {source}", reason="no_backup_file")
    try:
        for suffix in ("", "-wal"):
            origin = source.with_name(source.name + suffix)
            if suffix and not origin.is_file():
                continue
            destination = target.with_name(target.name + suffix)
            flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
            fd = os.open(destination, flags, 0o600)
            with os.fdopen(fd, "wb") as out, origin.open("rb") as into:
                while chunk := into.read(_COPY_CHUNK):
                    out.write(chunk)
    except OSError as exc:
        raise FileSystemError(f"cannot read the backup {source}: {exc}") from exc


def _remove(path: Path) -> None:
    for suffix in ("", *_SIDE_FILES):
        with suppress(OSError):
            path.with_name(path.name + suffix).unlink(missing_ok=True)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_COPY_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()
