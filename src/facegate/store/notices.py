"""Versioned processing notices per site (R-01, R-06).

A notice states, in Chinese and in English, what face processing a site does: purpose,
method, scope, retention, where the data is stored, who processes it, whom to contact and
how to withdraw and delete. Each published version is immutable (database triggers) and
every consent points at the version it was given for.

Publishing a version that widens purpose, method or scope (or lengthens retention) marks
every consent given under an earlier version as needing renewal, in the same transaction:
face processing of those people stops until they consent again (R-06).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import select, update

from facegate.errors import AlreadyExistsError, InvalidRecordError, NotFoundError
from facegate.store.audit import AuditAction, canonical_json
from facegate.store.checks import check_text
from facegate.store.module import StoreModule
from facegate.store.queries import bump_gallery, count, site_by_code, usable_consent
from facegate.store.records import DataCategory, ProcessingMethod, Purpose
from facegate.store.schema import (
    ACTOR_LENGTH,
    NOTICE_VERSION_LENGTH,
    Consent,
    Notice,
    Subject,
    new_id,
    utcnow,
)

NOTICE_TEXT_LENGTH = 2000
#: A notice's promise of how long face data is kept; a consent ends with it (R-07).
MAX_RETENTION_DAYS = 5 * 365


class Language(StrEnum):
    ZH = "zh"
    EN = "en"


#: Every notice is published in all of these.
REQUIRED_LANGUAGES = (Language.ZH, Language.EN)


@dataclass(frozen=True, slots=True)
class NoticeText:
    """The notice in one language: what a resident reads before consenting."""

    purpose: str
    method: str
    scope: str
    retention: str
    storage_location: str
    processor: str
    contact: str
    withdrawal: str


@dataclass(frozen=True, slots=True)
class NoticeContent:
    """What a notice declares. The enums are compared to tell whether a version widens."""

    purposes: frozenset[Purpose]
    methods: frozenset[ProcessingMethod]
    scope: frozenset[DataCategory]
    retention_days: int
    texts: dict[Language, NoticeText]

    def widens(self, previous: NoticeContent) -> bool:
        """True if this version asks for more than ``previous`` did."""
        return (
            not self.purposes <= previous.purposes
            or not self.methods <= previous.methods
            or not self.scope <= previous.scope
            or self.retention_days > previous.retention_days
        )

    def to_json(self) -> str:
        return canonical_json(
            {
                "purposes": sorted(p.value for p in self.purposes),
                "methods": sorted(m.value for m in self.methods),
                "scope": sorted(c.value for c in self.scope),
                "retention_days": self.retention_days,
                "texts": {
                    lang.value: _text_dict(text) for lang, text in sorted(self.texts.items())
                },
            }
        )

    @classmethod
    def from_json(cls, raw: str) -> NoticeContent:
        data = json.loads(raw)
        return cls.parse(data)

    @classmethod
    def parse(cls, data: Any) -> NoticeContent:
        """Build and check content from plain data (a JSON file, a web form)."""
        if not isinstance(data, dict):
            raise InvalidRecordError("notice content must be an object", reason="notice_invalid")
        try:
            content = cls(
                purposes=frozenset(Purpose(v) for v in _list(data, "purposes")),
                methods=frozenset(ProcessingMethod(v) for v in _list(data, "methods")),
                scope=frozenset(DataCategory(v) for v in _list(data, "scope")),
                retention_days=_int(data, "retention_days"),
                texts={
                    Language(lang): NoticeText(**_texts(text))
                    for lang, text in _dict(data, "texts").items()
                },
            )
        except (ValueError, TypeError) as exc:
            raise InvalidRecordError(
                f"notice content is not valid: {exc}", reason="notice_invalid"
            ) from None
        return content.checked()

    def checked(self) -> NoticeContent:
        if not self.purposes or not self.methods or not self.scope:
            raise InvalidRecordError(
                "a notice must declare its purposes, methods and scope", reason="notice_incomplete"
            )
        if not 1 <= self.retention_days <= MAX_RETENTION_DAYS:
            raise InvalidRecordError(
                f"retention_days must be 1 to {MAX_RETENTION_DAYS}", reason="notice_retention_range"
            )
        missing = [lang.value for lang in REQUIRED_LANGUAGES if lang not in self.texts]
        if missing:
            raise InvalidRecordError(
                f"the notice text is missing in: {', '.join(missing)}",
                reason="notice_language_missing",
            )
        for lang, text in self.texts.items():
            for field, value in _text_dict(text).items():
                check_text(value, f"{lang.value} {field}", NOTICE_TEXT_LENGTH)
        return self


@dataclass(frozen=True, slots=True)
class NoticeInfo:
    id: str
    site_code: str
    version: str
    seq: int
    published_at: datetime
    published_by: str
    content: NoticeContent
    content_sha256: str
    widens: bool


@dataclass(frozen=True, slots=True)
class Publication:
    notice: NoticeInfo
    #: Consents that now need renewal (0 unless the notice widens).
    consents_needing_renewal: int


class Notices(StoreModule):
    """Publishing and reading a site's processing notices."""

    def publish(
        self, site_code: str, version: str, content: NoticeContent, *, actor: str
    ) -> Publication:
        """Publish a new version; ``AlreadyExistsError`` if the version name is taken."""
        version = check_text(version, "notice version", NOTICE_VERSION_LENGTH)
        actor = check_text(actor, "actor", ACTOR_LENGTH)
        content = content.checked()
        raw = content.to_json()
        now = utcnow()
        with self._store.transaction() as session:
            site = site_by_code(session, site_code)
            exists = session.scalar(
                select(Notice.id).where(Notice.site_id == site.id, Notice.version == version)
            )
            if exists is not None:
                raise AlreadyExistsError(
                    f"notice version {version!r} is already published",
                    reason="notice_version_taken",
                )
            previous = _latest(session, site.id)
            widens = previous is not None and content.widens(
                NoticeContent.from_json(previous.content)
            )
            notice = Notice(
                id=new_id(),
                site_id=site.id,
                version=version,
                seq=1 if previous is None else previous.seq + 1,
                published_at=now,
                published_by=actor,
                content=raw,
                content_sha256=hashlib.sha256(raw.encode("utf-8")).hexdigest(),
                widens=widens,
            )
            session.add(notice)
            renewals = 0
            if widens:
                affected = (
                    Consent.subject_id.in_(select(Subject.id).where(Subject.site_id == site.id)),
                    Consent.notice_id != notice.id,
                    usable_consent(now),
                )
                renewals = count(session, Consent, *affected)
                session.execute(update(Consent).where(*affected).values(renewal_required_at=now))
                # Many subjects at once: every cached gallery rebuilds.
                bump_gallery(session, site.id, None)
            self._store.audit(
                session,
                actor,
                AuditAction.NOTICE_PUBLISHED,
                site_id=site.id,
                detail={
                    "version": version,
                    "seq": notice.seq,
                    "widens": widens,
                    "consents_needing_renewal": renewals,
                },
            )
            return Publication(_info(notice, site.code, content), renewals)

    def current(self, site_code: str) -> NoticeInfo:
        """The newest published version; ``NotFoundError`` if none yet."""
        with self._store.reading() as session:
            site = site_by_code(session, site_code)
            notice = _latest(session, site.id)
            if notice is None:
                raise NotFoundError(f"site {site_code!r} has published no processing notice")
            return _info(notice, site.code, NoticeContent.from_json(notice.content))

    def get(self, site_code: str, version: str) -> NoticeInfo:
        with self._store.reading() as session:
            site = site_by_code(session, site_code)
            notice = session.scalar(
                select(Notice).where(Notice.site_id == site.id, Notice.version == version)
            )
            if notice is None:
                raise NotFoundError(f"site {site_code!r} has no notice version {version!r}")
            return _info(notice, site.code, NoticeContent.from_json(notice.content))

    def list(self, site_code: str) -> list[NoticeInfo]:
        with self._store.reading() as session:
            site = site_by_code(session, site_code)
            notices = session.scalars(
                select(Notice).where(Notice.site_id == site.id).order_by(Notice.seq)
            )
            return [_info(n, site.code, NoticeContent.from_json(n.content)) for n in notices]


def _latest(session: Any, site_id: str) -> Notice | None:
    notice: Notice | None = session.scalar(
        select(Notice).where(Notice.site_id == site_id).order_by(Notice.seq.desc()).limit(1)
    )
    return notice


def _info(notice: Notice, site_code: str, content: NoticeContent) -> NoticeInfo:
    return NoticeInfo(
        id=notice.id,
        site_code=site_code,
        version=notice.version,
        seq=notice.seq,
        published_at=notice.published_at,
        published_by=notice.published_by,
        content=content,
        content_sha256=notice.content_sha256,
        widens=notice.widens,
    )


def _text_dict(text: NoticeText) -> dict[str, str]:
    return {
        "purpose": text.purpose,
        "method": text.method,
        "scope": text.scope,
        "retention": text.retention,
        "storage_location": text.storage_location,
        "processor": text.processor,
        "contact": text.contact,
        "withdrawal": text.withdrawal,
    }


def _list(data: dict[str, Any], key: str) -> list[str]:
    value = data.get(key)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidRecordError(f"notice {key} must be a list of codes", reason="notice_invalid")
    return value


def _int(data: dict[str, Any], key: str) -> int:
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidRecordError(f"notice {key} must be a whole number", reason="notice_invalid")
    return value


def _dict(data: dict[str, Any], key: str) -> dict[str, Any]:
    value = data.get(key)
    if not isinstance(value, dict):
        raise InvalidRecordError(
            f"notice {key} must be an object keyed by language", reason="notice_invalid"
        )
    return value


def _texts(value: Any) -> dict[str, str]:
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise InvalidRecordError(
            "each notice text must be an object of strings", reason="notice_invalid"
        )
    expected = set(NoticeText.__slots__)
    if set(value) != expected:
        missing = sorted(expected - set(value))
        extra = sorted(set(value) - expected)
        raise InvalidRecordError(
            f"notice text fields: missing {missing}, unknown {extra}", reason="notice_invalid"
        )
    return value
