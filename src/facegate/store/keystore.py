"""The key store: every subject's and every kept frame's data key, in a database of its own.

Why a separate file: the main database is what gets backed up and copied around; the key
store is not (``facegate backup`` never includes it, and operators are told to exclude
``keys/``). Destroying a key here therefore makes every copy of that owner's ciphertext,
in the live database and in every old backup, undecryptable (crypto-shredding, R-23).
Losing the key store loses templates and kept frames, which people can re-enroll; consents,
receipts and the audit log stay readable. ``Store.open`` refuses a missing key store beside
templates (a wrong path must not erase them): a truly lost one is declared by leaving an
empty file at its path.

The key store also keeps the erasure log (the ids of subjects erased and consents
withdrawn) and the revocation log (credentials revoked, replaced or spent, devices revoked,
admin passwords replaced, residents moved out). Neither is backed up, for the same reason,
so restoring an old backup can replay what happened since (``store.reconcile``,
``store.revocations``).

Writes commit at once and are ordered by the caller so that a crash never leaves a
template without its key: a key is created before the templates that use it commit, and
destroyed only after the deletion that makes it useless has committed. Keys left over by a
crash (an owner that was deleted, or never written) are destroyed by ``reconcile``.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, delete, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from facegate.core.config import Settings
from facegate.errors import StoreError
from facegate.store.crypto import SiteKey, new_data_key
from facegate.store.engine import READ_ONLY, checkpoint_wal, make_engine, prepare_sqlite_file
from facegate.store.keystore_schema import (
    DataKey,
    ErasedKind,
    ErasureLog,
    KeyOwnerKind,
    RevocationLog,
    RevokedKind,
)
from facegate.store.migrate import KEYSTORE_MIGRATIONS_DIR, upgrade_to_head
from facegate.store.schema import utcnow

logger = logging.getLogger(__name__)

#: Ids per ``IN (...)`` query: well under SQLite's limit on bound parameters.
_ID_BATCH = 500


@dataclass(frozen=True, slots=True)
class Erased:
    """One entry of the erasure log: an id, what it was, why and when. No personal data."""

    owner_id: str
    kind: ErasedKind
    site_id: str
    reason: str
    erased_at: datetime


@dataclass(frozen=True, slots=True)
class Revoked:
    """One entry of the revocation log: what was revoked, the state it reached, when."""

    target_id: str
    kind: RevokedKind
    site_id: str
    status: str
    at: datetime
    #: The new argon2id hash, for a replaced admin password only.
    password_hash: str | None = None


class KeyStore:
    """Wrapped data keys by owner id. Open with ``KeyStore.open(settings, site_key)``."""

    def __init__(self, engine: Engine, site_key: SiteKey) -> None:
        self._engine = engine
        self._site_key = site_key
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        self._readers = sessionmaker(
            engine.execution_options(**{READ_ONLY: True}), expire_on_commit=False
        )

    @classmethod
    def open(cls, settings: Settings, site_key: SiteKey) -> KeyStore:
        path = settings.resolved_keystore_path
        url = f"sqlite:///{path.resolve()}"
        prepare_sqlite_file(url)
        engine = make_engine(url)
        try:
            with _errors():
                upgrade_to_head(engine, KEYSTORE_MIGRATIONS_DIR)
        except BaseException:
            engine.dispose()
            raise
        return cls(engine, site_key)

    def close(self) -> None:
        self._engine.dispose()

    def get(self, owner_id: str, site_id: str) -> bytes | None:
        """The owner's unwrapped data key, or None once destroyed (or never made)."""
        return self.get_many({owner_id: site_id}).get(owner_id)

    def get_many(self, owners: Mapping[str, str]) -> dict[str, bytes]:
        """Unwrapped data keys of ``owners`` (owner id -> site id) that still have one.

        One read transaction for all of them: a gallery of 100,000 subjects must not cost
        100,000 transactions.
        """
        found: dict[str, bytes] = {}
        ids = sorted(owners)
        with self._reading() as session:
            for start in range(0, len(ids), _ID_BATCH):
                batch = ids[start : start + _ID_BATCH]
                rows = session.execute(
                    select(DataKey.owner_id, DataKey.wrapped_key).where(DataKey.owner_id.in_(batch))
                )
                for owner_id, wrapped in rows:
                    found[owner_id] = self._site_key.unwrap_data_key(
                        wrapped, site_id=owners[owner_id], subject_id=owner_id
                    )
        return found

    def get_or_create(self, owner_id: str, site_id: str, kind: KeyOwnerKind) -> bytes:
        """The owner's data key, made and committed now if it has none."""
        with self._session() as session:
            row = session.get(DataKey, owner_id)
            if row is not None:
                return self._site_key.unwrap_data_key(
                    row.wrapped_key, site_id=site_id, subject_id=owner_id
                )
            key = new_data_key()
            session.add(
                DataKey(
                    owner_id=owner_id,
                    site_id=site_id,
                    owner_kind=kind,
                    wrapped_key=self._site_key.wrap_data_key(
                        key, site_id=site_id, subject_id=owner_id
                    ),
                    created_at=utcnow(),
                )
            )
            return key

    def put_wrapped(self, owner_id: str, site_id: str, wrapped_key: bytes) -> None:
        """Store an already wrapped subject key (moving keys out of a revision-0001 database)."""
        with self._session() as session:
            if session.get(DataKey, owner_id) is None:
                session.add(
                    DataKey(
                        owner_id=owner_id,
                        site_id=site_id,
                        owner_kind=KeyOwnerKind.SUBJECT,
                        wrapped_key=wrapped_key,
                        created_at=utcnow(),
                    )
                )

    def destroy(self, owner_ids: Collection[str]) -> int:
        """Delete these owners' keys for good; returns how many existed.

        ``secure_delete`` zeroes the freed pages and the WAL is checkpointed, so the bytes
        are gone from the file too, not only from the table.
        """
        if not owner_ids:
            return 0
        owners = sorted(owner_ids)
        destroyed = 0
        with self._session() as session:
            for start in range(0, len(owners), _ID_BATCH):
                batch = owners[start : start + _ID_BATCH]
                result = session.execute(delete(DataKey).where(DataKey.owner_id.in_(batch)))
                destroyed += int(getattr(result, "rowcount", 0) or 0)
        checkpoint_wal(self._engine)
        return destroyed

    def existing(self, owner_ids: Collection[str]) -> set[str]:
        """Which of ``owner_ids`` still have a key."""
        owners = sorted(owner_ids)
        found: set[str] = set()
        with self._reading() as session:
            for start in range(0, len(owners), _ID_BATCH):
                batch = owners[start : start + _ID_BATCH]
                found.update(
                    session.scalars(select(DataKey.owner_id).where(DataKey.owner_id.in_(batch)))
                )
        return found

    def log_erasures(self, entries: Iterable[Erased]) -> int:
        """Add to the erasure log (entries already there are kept as they are); returns how
        many were new."""
        added = 0
        with self._session() as session:
            for entry in entries:
                if session.get(ErasureLog, entry.owner_id) is not None:
                    continue
                session.add(
                    ErasureLog(
                        owner_id=entry.owner_id,
                        owner_kind=entry.kind,
                        site_id=entry.site_id,
                        reason=entry.reason,
                        erased_at=entry.erased_at,
                    )
                )
                added += 1
        return added

    def erasures(self, kind: ErasedKind) -> list[Erased]:
        """The erasure log's entries of one kind, oldest first."""
        with self._reading() as session:
            rows = session.scalars(
                select(ErasureLog)
                .where(ErasureLog.owner_kind == kind)
                .order_by(ErasureLog.erased_at, ErasureLog.owner_id)
            )
            return [
                Erased(row.owner_id, row.owner_kind, row.site_id, row.reason, row.erased_at)
                for row in rows
            ]

    def log_revocations(self, entries: Iterable[Revoked]) -> int:
        """Add to the revocation log; returns how many entries were new.

        A revocation is final, so an entry already there is kept as it is, except a
        password: the newest replaces the one before.
        """
        pending: dict[tuple[RevokedKind, str], Revoked] = {}
        for entry in entries:
            key = (entry.kind, entry.target_id)
            if key not in pending or entry.kind is RevokedKind.ADMIN_PASSWORD:
                pending[key] = entry
        if not pending:
            return 0
        added = 0
        with self._session() as session:
            for kind in sorted({kind for kind, _ in pending}):
                ids = sorted(target_id for each, target_id in pending if each is kind)
                for start in range(0, len(ids), _ID_BATCH):
                    batch = ids[start : start + _ID_BATCH]
                    logged = {
                        row.target_id: row
                        for row in session.scalars(
                            select(RevocationLog).where(
                                RevocationLog.target_kind == kind,
                                RevocationLog.target_id.in_(batch),
                            )
                        )
                    }
                    for target_id in batch:
                        entry = pending[(kind, target_id)]
                        row = logged.get(target_id)
                        if row is None:
                            session.add(_revocation_row(entry))
                            added += 1
                        elif kind is RevokedKind.ADMIN_PASSWORD:
                            row.status, row.at = entry.status, entry.at
                            row.password_hash = entry.password_hash
        return added

    def revocations(self, kind: RevokedKind | None = None) -> list[Revoked]:
        """The revocation log's entries (of one kind, or all), oldest first."""
        with self._reading() as session:
            stmt = select(RevocationLog).order_by(RevocationLog.at, RevocationLog.target_id)
            if kind is not None:
                stmt = stmt.where(RevocationLog.target_kind == kind)
            return [
                Revoked(
                    row.target_id,
                    row.target_kind,
                    row.site_id,
                    row.status,
                    row.at,
                    row.password_hash,
                )
                for row in session.scalars(stmt)
            ]

    def has_revocations(self) -> bool:
        """Whether the revocation log holds anything (it is backfilled while it does not)."""
        with self._reading() as session:
            return session.scalar(select(RevocationLog.target_id).limit(1)) is not None

    def owners(self, kind: KeyOwnerKind | None = None) -> set[str]:
        with self._reading() as session:
            stmt = select(DataKey.owner_id)
            if kind is not None:
                stmt = stmt.where(DataKey.owner_kind == kind)
            return set(session.scalars(stmt))

    @contextmanager
    def _session(self) -> Iterator[Session]:
        with _errors(), self._sessions.begin() as session:
            yield session

    @contextmanager
    def _reading(self) -> Iterator[Session]:
        # BEGIN DEFERRED: a read does not take the key store's write lock.
        with _errors(), self._readers.begin() as session:
            yield session


def _revocation_row(entry: Revoked) -> RevocationLog:
    return RevocationLog(
        target_kind=entry.kind,
        target_id=entry.target_id,
        site_id=entry.site_id,
        status=entry.status,
        at=entry.at,
        password_hash=entry.password_hash,
    )


@contextmanager
def _errors() -> Iterator[None]:
    try:
        yield
    except DBAPIError as exc:
        raise StoreError(f"key store error: {exc.orig}") from exc
