"""Site key loading and AES-256-GCM encryption of data keys and templates (R-20)."""

from __future__ import annotations

import base64
import os
import stat
from pathlib import Path

import numpy as np
import pytest
from pydantic import SecretStr

from facegate.core.config import Environment, Settings
from facegate.errors import IntegrityViolationError, InvalidRecordError, KeyMaterialError
from facegate.store.crypto import (
    KEY_BYTES,
    TEMPLATE_CIPHERTEXT_BYTES,
    WRAPPED_KEY_BYTES,
    SiteKey,
    decrypt_template,
    encrypt_template,
    load_site_key,
    new_data_key,
)

from .helpers import MODEL, random_embeddings

SITE_ID = "a" * 32
SUBJECT_ID = "b" * 32
TEMPLATE_ID = "c" * 32
PLACE = {"site_id": SITE_ID, "subject_id": SUBJECT_ID, "template_id": TEMPLATE_ID}


def _settings(tmp_path: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {"data_dir": tmp_path, "env": Environment.DEVELOPMENT}
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


def _round_trip_works(first: SiteKey, second: SiteKey) -> bool:
    wrapped = first.wrap_data_key(b"k" * KEY_BYTES, site_id=SITE_ID, subject_id=SUBJECT_ID)
    try:
        second.unwrap_data_key(wrapped, site_id=SITE_ID, subject_id=SUBJECT_ID)
    except IntegrityViolationError:
        return False
    return True


def _write_key_file(path: Path, mode: int) -> None:
    path.write_text(base64.b64encode(os.urandom(KEY_BYTES)).decode() + "\n")
    path.chmod(mode)


@pytest.mark.rule("R-20")
def test_r20_site_key_from_environment(tmp_path: Path) -> None:
    material = base64.b64encode(os.urandom(KEY_BYTES)).decode()
    settings = _settings(tmp_path, site_key=SecretStr(material))
    assert _round_trip_works(load_site_key(settings), load_site_key(settings))
    # A key given in the environment is never written into the data dir.
    assert not settings.resolved_key_file.exists()


@pytest.mark.parametrize(
    ("value", "message"),
    [("not base64!", "not valid base64"), (base64.b64encode(b"short").decode(), "32")],
)
def test_malformed_environment_key_is_refused(tmp_path: Path, value: str, message: str) -> None:
    with pytest.raises(KeyMaterialError, match=message):
        load_site_key(_settings(tmp_path, site_key=SecretStr(value)))


@pytest.mark.rule("R-20")
def test_r20_development_creates_a_private_key_file_once(tmp_path: Path) -> None:
    settings = _settings(tmp_path / "data")
    first = load_site_key(settings)
    path = settings.resolved_key_file
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(base64.b64decode(path.read_text())) == KEY_BYTES
    assert _round_trip_works(first, load_site_key(settings))
    assert [p.name for p in path.parent.iterdir()] == ["site.key"]


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660])
@pytest.mark.rule("R-20")
def test_r20_key_file_readable_by_others_is_refused(tmp_path: Path, mode: int) -> None:
    path = tmp_path / "site.key"
    _write_key_file(path, mode)
    with pytest.raises(KeyMaterialError) as caught:
        load_site_key(_settings(tmp_path, key_file=path))
    assert f"chmod 600 {path}" in str(caught.value)


def test_key_file_with_mode_0400_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "site.key"
    _write_key_file(path, 0o400)
    key = load_site_key(_settings(tmp_path, key_file=path))
    assert _round_trip_works(key, key)


def test_missing_key_outside_development_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "site.key"
    settings = _settings(tmp_path, env=Environment.PRODUCTION, key_file=path)
    with pytest.raises(KeyMaterialError, match="does not exist"):
        load_site_key(settings)
    assert not path.exists()


def test_key_file_that_is_a_directory_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "site.key"
    path.mkdir(mode=0o700)
    with pytest.raises(KeyMaterialError, match="not a regular file"):
        load_site_key(_settings(tmp_path, key_file=path))


def test_two_site_keys_do_not_open_each_other() -> None:
    assert not _round_trip_works(SiteKey(os.urandom(KEY_BYTES)), SiteKey(os.urandom(KEY_BYTES)))


def test_site_key_repr_hides_the_key() -> None:
    material = os.urandom(KEY_BYTES)
    assert repr(SiteKey(material)) == "SiteKey(<redacted>)"
    with pytest.raises(KeyMaterialError, match="32 bytes"):
        SiteKey(material[:16])


@pytest.mark.rule("R-20")
def test_r20_wrapped_key_is_bound_to_its_subject() -> None:
    key = SiteKey(os.urandom(KEY_BYTES))
    data_key = new_data_key()
    wrapped = key.wrap_data_key(data_key, site_id=SITE_ID, subject_id=SUBJECT_ID)
    assert len(wrapped) == WRAPPED_KEY_BYTES
    assert key.unwrap_data_key(wrapped, site_id=SITE_ID, subject_id=SUBJECT_ID) == data_key
    with pytest.raises(IntegrityViolationError):
        key.unwrap_data_key(wrapped, site_id=SITE_ID, subject_id="d" * 32)
    with pytest.raises(IntegrityViolationError):
        key.unwrap_data_key(wrapped, site_id="e" * 32, subject_id=SUBJECT_ID)


@pytest.mark.rule("R-20")
def test_r20_template_round_trip_is_exact_with_fresh_nonces() -> None:
    data_key = new_data_key()
    vector = random_embeddings(1)[0]
    nonce_1, sealed_1 = encrypt_template(data_key, vector, model_name=MODEL, **PLACE)
    nonce_2, sealed_2 = encrypt_template(data_key, vector, model_name=MODEL, **PLACE)
    assert nonce_1 != nonce_2
    assert sealed_1 != sealed_2
    assert len(sealed_1) == TEMPLATE_CIPHERTEXT_BYTES
    opened = decrypt_template(data_key, nonce_1, sealed_1, model_name=MODEL, **PLACE)
    assert opened.dtype == np.float32
    assert opened.shape == (128,)
    np.testing.assert_array_equal(opened, vector)


@pytest.mark.parametrize("field", ["site_id", "subject_id", "template_id", "model_name"])
@pytest.mark.rule("R-20")
def test_r20_template_ciphertext_is_bound_to_its_place(field: str) -> None:
    data_key = new_data_key()
    place = {**PLACE, "model_name": MODEL}
    nonce, sealed = encrypt_template(data_key, random_embeddings(1)[0], **place)
    moved = {**place, field: "f" * 32}
    with pytest.raises(IntegrityViolationError):
        decrypt_template(data_key, nonce, sealed, **moved)


@pytest.mark.rule("R-20")
def test_r20_tampered_template_ciphertext_fails() -> None:
    data_key = new_data_key()
    nonce, sealed = encrypt_template(data_key, random_embeddings(1)[0], model_name=MODEL, **PLACE)
    flipped = bytes([sealed[0] ^ 1]) + sealed[1:]
    with pytest.raises(IntegrityViolationError):
        decrypt_template(data_key, nonce, flipped, model_name=MODEL, **PLACE)
    with pytest.raises(IntegrityViolationError):
        decrypt_template(new_data_key(), nonce, sealed, model_name=MODEL, **PLACE)


def test_template_of_wrong_length_is_refused() -> None:
    with pytest.raises(InvalidRecordError, match="shape"):
        encrypt_template(new_data_key(), np.zeros(64, np.float32), model_name=MODEL, **PLACE)
