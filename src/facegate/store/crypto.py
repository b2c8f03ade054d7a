"""Key material and template encryption (R-20).

Key hierarchy::

    site key (32 bytes; FACEGATE_SITE_KEY or a 0600 key file, never in the database)
      ├─ HKDF "key-wrap"    → wraps each subject's random 32-byte data key (AES-256-GCM)
      │                         data key → encrypts that subject's templates (AES-256-GCM)
      ├─ HKDF "audit-chain" → HMAC-SHA256 key of the audit hash chain
      ├─ HKDF "audit-head"  → HMAC-SHA256 seal of the ``audit_head`` row
      └─ HKDF "audit-receipt" → HMAC-SHA256 of the head receipt kept outside the database

Every ciphertext's associated data names where it belongs (site, subject, template, model),
so bytes copied to another row fail authentication instead of decrypting as someone else.
Destroying a subject's wrapped data key makes that subject's templates unrecoverable
(crypto-shredding), including any copy in a backup.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
import os
import secrets
import stat
from pathlib import Path

import numpy as np
import numpy.typing as npt
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from facegate.core.config import Settings
from facegate.errors import IntegrityViolationError, InvalidRecordError, KeyMaterialError
from facegate.store.records import EMBEDDING_DIM

logger = logging.getLogger(__name__)

KEY_BYTES = 32
NONCE_BYTES = 12
TAG_BYTES = 16
#: nonce || AES-GCM(data key) || tag
WRAPPED_KEY_BYTES = NONCE_BYTES + KEY_BYTES + TAG_BYTES
#: little-endian float32 × 128, plus the GCM tag
TEMPLATE_CIPHERTEXT_BYTES = EMBEDDING_DIM * 4 + TAG_BYTES

_TEMPLATE_DTYPE = np.dtype("<f4")
_WRAP_INFO = b"facegate/subject-key-wrap/v1"
_AUDIT_INFO = b"facegate/audit-chain/v1"
_HEAD_INFO = b"facegate/audit-head/v1"
_RECEIPT_INFO = b"facegate/audit-receipt/v1"
_CONFIG_INFO = b"facegate/config-mac/v1"
_LOOKUP_INFO = b"facegate/credential-lookup/v1"
_WRAP_AD_LABEL = "facegate/subject-key/v1"
_TEMPLATE_AD_LABEL = "facegate/template/v1"
_SNAPSHOT_AD_LABEL = "facegate/snapshot/v1"


class SiteKey:
    """The site's 32-byte root key. Only derived subkeys are ever used directly."""

    __slots__ = (
        "_audit_key",
        "_config_key",
        "_head_key",
        "_lookup_key",
        "_receipt_key",
        "_wrap_key",
    )

    def __init__(self, material: bytes) -> None:
        if len(material) != KEY_BYTES:
            raise KeyMaterialError(f"a site key is {KEY_BYTES} bytes, got {len(material)}")
        self._wrap_key = _derive(material, _WRAP_INFO)
        self._audit_key = _derive(material, _AUDIT_INFO)
        self._config_key = _derive(material, _CONFIG_INFO)
        self._lookup_key = _derive(material, _LOOKUP_INFO)
        self._head_key = _derive(material, _HEAD_INFO)
        self._receipt_key = _derive(material, _RECEIPT_INFO)

    def sign_config(self, payload: bytes) -> str:
        """HMAC-SHA256 (hex) of a settings file that changes decisions (e.g. thresholds)."""
        return hmac.new(self._config_key, payload, hashlib.sha256).hexdigest()

    def config_signature_valid(self, payload: bytes, signature: str) -> bool:
        return hmac.compare_digest(self.sign_config(payload), signature)

    def lookup_hash(self, kind: str, value: str, *, scope: str) -> str:
        """HMAC-SHA256 (hex, 64 chars) of a credential secret (card number, one-time code).

        Equal inputs give equal hashes, so a presented card can be found by index; without the
        site key the hash can be neither reversed nor brute-forced. ``kind`` and ``scope``
        (the site id) separate domains: the same card number hashes differently per site.
        """
        message = _associated_data(kind, scope, value)
        return hmac.new(self._lookup_key, message, hashlib.sha256).hexdigest()

    def seal_audit_head(self, last_id: int, last_hash: str) -> str:
        """HMAC-SHA256 (hex) of the ``audit_head`` row: without the key, a head rewound to an
        earlier (authentic) event cannot be sealed again."""
        message = f"{last_id}\n{last_hash}".encode()
        return hmac.new(self._head_key, message, hashlib.sha256).hexdigest()

    def audit_head_seal_valid(self, last_id: int, last_hash: str, seal: str | None) -> bool:
        """Whether ``seal`` is this key's seal of the head; a missing seal is not valid."""
        if seal is None:
            return False
        expected = self.seal_audit_head(last_id, last_hash).encode()
        return hmac.compare_digest(expected, seal.encode())

    def sign_audit_receipt(self, payload: bytes) -> str:
        """HMAC-SHA256 (hex) of a head receipt file's canonical payload."""
        return hmac.new(self._receipt_key, payload, hashlib.sha256).hexdigest()

    @property
    def audit_key(self) -> bytes:
        """HMAC key of the audit chain: without it the chain cannot be rewritten undetected."""
        return self._audit_key

    def __repr__(self) -> str:
        return "SiteKey(<redacted>)"

    def wrap_data_key(self, data_key: bytes, *, site_id: str, subject_id: str) -> bytes:
        """Encrypt a subject's data key; the result is ``WRAPPED_KEY_BYTES`` long."""
        nonce = os.urandom(NONCE_BYTES)
        ad = _associated_data(_WRAP_AD_LABEL, site_id, subject_id)
        return nonce + AESGCM(self._wrap_key).encrypt(nonce, data_key, ad)

    def unwrap_data_key(self, wrapped: bytes, *, site_id: str, subject_id: str) -> bytes:
        """Inverse of ``wrap_data_key``; ``IntegrityViolationError`` if moved or altered."""
        ad = _associated_data(_WRAP_AD_LABEL, site_id, subject_id)
        try:
            key = AESGCM(self._wrap_key).decrypt(wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:], ad)
        except InvalidTag as exc:
            raise IntegrityViolationError(
                f"the data key of subject {subject_id} fails authentication: it was altered, "
                "moved from another subject, or the site key is not the one it was made with"
            ) from exc
        return key


def new_data_key() -> bytes:
    return os.urandom(KEY_BYTES)


def encrypt_template(
    data_key: bytes,
    embedding: npt.NDArray[np.float32],
    *,
    site_id: str,
    subject_id: str,
    template_id: str,
    model_name: str,
) -> tuple[bytes, bytes]:
    """Encrypt one float32 template of shape (128,). Returns ``(nonce, ciphertext)``.

    A fresh random 96-bit nonce is drawn per call; with at most a few templates per data
    key, nonce reuse is out of reach.
    """
    plaintext = np.ascontiguousarray(embedding, dtype=_TEMPLATE_DTYPE).tobytes()
    if len(plaintext) != EMBEDDING_DIM * 4:
        raise InvalidRecordError(f"a template has shape ({EMBEDDING_DIM},)", reason="bad_template")
    nonce = os.urandom(NONCE_BYTES)
    ad = _associated_data(_TEMPLATE_AD_LABEL, site_id, subject_id, template_id, model_name)
    return nonce, AESGCM(data_key).encrypt(nonce, plaintext, ad)


def decrypt_template(
    data_key: bytes,
    nonce: bytes,
    ciphertext: bytes,
    *,
    site_id: str,
    subject_id: str,
    template_id: str,
    model_name: str,
) -> npt.NDArray[np.float32]:
    """Decrypt one template to float32 of shape (128,).

    Raises ``IntegrityViolationError`` when the ciphertext was altered or does not belong to
    this site, subject, template id and model.
    """
    ad = _associated_data(_TEMPLATE_AD_LABEL, site_id, subject_id, template_id, model_name)
    try:
        plaintext = AESGCM(data_key).decrypt(nonce, ciphertext, ad)
    except InvalidTag as exc:
        raise IntegrityViolationError(
            f"template {template_id} fails authentication: it was altered or moved "
            f"from another row (subject {subject_id})"
        ) from exc
    return np.frombuffer(plaintext, dtype=_TEMPLATE_DTYPE).astype(np.float32)


def encrypt_snapshot(data_key: bytes, payload: bytes, *, site_id: str, snapshot_id: str) -> bytes:
    """Encrypt a kept frame's encoded image under its own data key: ``nonce || ciphertext``."""
    nonce = os.urandom(NONCE_BYTES)
    ad = _associated_data(_SNAPSHOT_AD_LABEL, site_id, snapshot_id)
    return nonce + AESGCM(data_key).encrypt(nonce, payload, ad)


def decrypt_snapshot(data_key: bytes, blob: bytes, *, site_id: str, snapshot_id: str) -> bytes:
    """Inverse of ``encrypt_snapshot``; ``IntegrityViolationError`` if altered or moved."""
    ad = _associated_data(_SNAPSHOT_AD_LABEL, site_id, snapshot_id)
    try:
        return AESGCM(data_key).decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], ad)
    except InvalidTag as exc:
        raise IntegrityViolationError(
            f"kept frame {snapshot_id} fails authentication: it was altered or moved"
        ) from exc


def load_site_key(settings: Settings, *, database_exists: bool = False) -> SiteKey:
    """The site key from ``FACEGATE_SITE_KEY`` (base64) or else the key file.

    The key file must be a regular file with mode 0600 (or stricter). In development a
    missing key file is created, but only for a new database; elsewhere, and beside an
    existing database, it is an error, because a new key silently replacing a lost one
    would make every stored template unreadable.
    """
    if settings.site_key is not None:
        return SiteKey(_decode_key(settings.site_key.get_secret_value(), "FACEGATE_SITE_KEY"))
    path = settings.resolved_key_file
    if not path.exists():
        if database_exists:
            raise KeyMaterialError(
                f"no site key: {path} does not exist but the database does. Restore the key "
                "file from your key backup; a new key could not read the stored templates."
            )
        if not settings.may_create_key:
            raise KeyMaterialError(
                f"no site key: {path} does not exist and FACEGATE_SITE_KEY is not set. "
                "Restore the key file from your key backup, or set FACEGATE_SITE_KEY."
            )
        _create_key_file(path)
    return SiteKey(_read_key_file(path))


def _read_key_file(path: Path) -> bytes:
    try:
        info = path.stat()
    except OSError as exc:
        raise KeyMaterialError(f"cannot read the site key file {path}: {exc}") from exc
    if not stat.S_ISREG(info.st_mode):
        raise KeyMaterialError(f"the site key file {path} is not a regular file")
    if info.st_mode & 0o077:
        raise KeyMaterialError(
            f"the site key file {path} has mode {stat.S_IMODE(info.st_mode):04o}: others can "
            f"read it. Restrict it to its owner: chmod 600 {path}"
        )
    try:
        text = path.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as exc:
        raise KeyMaterialError(f"cannot read the site key file {path}: {exc}") from exc
    return _decode_key(text, str(path))


def _create_key_file(path: Path) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    encoded = base64.b64encode(secrets.token_bytes(KEY_BYTES)) + b"\n"
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        try:
            os.write(fd, encoded)
            os.fsync(fd)
        finally:
            os.close(fd)
        # link() never replaces: if another process made the key first, keep theirs.
        try:
            os.link(tmp, path)
        except FileExistsError:
            return
    finally:
        tmp.unlink(missing_ok=True)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
    logger.warning(
        "created a new development site key at %s; back it up: without it the templates "
        "and the audit chain cannot be read",
        path,
    )


def _decode_key(text: str, source: str) -> bytes:
    try:
        material = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise KeyMaterialError(f"the site key in {source} is not valid base64") from exc
    if len(material) != KEY_BYTES:
        raise KeyMaterialError(
            f"the site key in {source} is {len(material)} bytes; it must be {KEY_BYTES} "
            "(e.g. python -c 'import base64,os; print(base64.b64encode(os.urandom(32)).decode())')"
        )
    return material


def _derive(material: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=None, info=info).derive(material)


def _associated_data(label: str, *parts: str) -> bytes:
    # Length-prefixed, so no choice of model name can make two different tuples collide.
    out = bytearray()
    for part in (label, *parts):
        encoded = part.encode("utf-8")
        out += len(encoded).to_bytes(4, "big") + encoded
    return bytes(out)
