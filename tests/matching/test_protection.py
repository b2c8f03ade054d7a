"""Protected templates: per-site keys, exact scores for the orthonormal scheme, renewal."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.typing import NDArray

from facegate.errors import KeyMaterialError
from facegate.matching import score
from facegate.matching.protection import (
    DEFAULT_SIGN_BITS,
    ProtectionKeyId,
    ProtectionScheme,
    TemplateProtector,
    derive_protection_key,
)

SECRET = bytes(range(32))
OTHER_SECRET = bytes(range(1, 33))


def _templates(n: int, seed: int = 0) -> NDArray[np.float32]:
    x = np.random.default_rng(seed).standard_normal((n, 128))
    unit: NDArray[np.float32] = (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)
    return unit


def test_keys_differ_by_site_version_scheme_and_secret() -> None:
    base = derive_protection_key(SECRET, "north", 1, ProtectionScheme.ORTHONORMAL)
    assert len(base) == 32
    assert base == derive_protection_key(SECRET, "north", 1, ProtectionScheme.ORTHONORMAL)
    others = {
        derive_protection_key(SECRET, "south", 1, ProtectionScheme.ORTHONORMAL),
        derive_protection_key(SECRET, "north", 2, ProtectionScheme.ORTHONORMAL),
        derive_protection_key(SECRET, "north", 1, ProtectionScheme.SIGN),
        derive_protection_key(OTHER_SECRET, "north", 1, ProtectionScheme.ORTHONORMAL),
    }
    assert base not in others
    assert len(others) == 4


def test_orthonormal_preserves_scores_exactly() -> None:
    x = _templates(20)
    protector = TemplateProtector(SECRET, site_id="north")
    protected = protector.protect(x)
    assert protected.shape == (20, 128)
    assert protected.dtype == np.float32
    np.testing.assert_allclose(protector.score(protected, protected), score(x, x), atol=1e-5)
    assert not np.allclose(protected, x, atol=0.1)


def test_the_key_is_used_templates_of_two_sites_do_not_match() -> None:
    # Were the site secret or site id ignored, both sites would share one transform and the
    # same template would score 1.0 across them.
    x = _templates(10)
    for a, b in [
        (
            TemplateProtector(SECRET, site_id="north"),
            TemplateProtector(SECRET, site_id="south"),
        ),
        (
            TemplateProtector(SECRET, site_id="north"),
            TemplateProtector(OTHER_SECRET, site_id="north"),
        ),
    ]:
        across = np.diag(a.score(a.protect(x), b.protect(x)))
        assert np.all(across < 0.2), across
    same = TemplateProtector(SECRET, site_id="north")
    np.testing.assert_array_equal(
        same.protect(x), TemplateProtector(SECRET, site_id="north").protect(x)
    )


def test_renewal_unlinks_old_templates_and_keeps_scores() -> None:
    x = _templates(10)
    v1 = TemplateProtector(SECRET, site_id="north")
    v2 = v1.renewed()
    assert v2.key_id == ProtectionKeyId("north", 2, ProtectionScheme.ORTHONORMAL)
    old, new = v1.protect(x), v2.protect(x)
    assert np.all(np.diag(v2.score(old, new)) < 0.2)
    np.testing.assert_allclose(v2.score(new, new), score(x, x), atol=1e-5)
    # Orthonormal galleries move to the new key without the plain templates.
    np.testing.assert_allclose(v1.reprotect(old, v2), new, atol=1e-5)


def test_sign_scheme_bits_scores_and_renewal() -> None:
    x = _templates(10)
    protector = TemplateProtector(SECRET, site_id="north", scheme=ProtectionScheme.SIGN)
    bits = protector.protect(x)
    assert bits.shape == (10, DEFAULT_SIGN_BITS)
    assert set(np.unique(bits)) == {-1.0, 1.0}
    scores = protector.score(bits, bits)
    np.testing.assert_allclose(np.diag(scores), 1.0)
    assert np.all((scores >= 0.0) & (scores <= 1.0))
    # Unrelated templates agree on about half their bits; a renewed key on about half too.
    off = scores[~np.eye(10, dtype=bool)]
    assert 0.35 < float(off.mean()) < 0.65
    renewed = protector.renewed()
    assert renewed.width == DEFAULT_SIGN_BITS
    assert 0.35 < float(np.diag(protector.score(bits, renewed.protect(x))).mean()) < 0.65
    with pytest.raises(ValueError, match="ORTHONORMAL"):
        protector.reprotect(bits, renewed)


def test_rejections() -> None:
    with pytest.raises(KeyMaterialError):
        TemplateProtector(b"short", site_id="north")
    with pytest.raises(ValueError, match="version"):
        TemplateProtector(SECRET, site_id="north", version=0)
    with pytest.raises(ValueError, match="bits"):
        TemplateProtector(SECRET, site_id="north", scheme=ProtectionScheme.SIGN, bits=0)
    with pytest.raises(ValueError, match="rot13"):
        TemplateProtector(SECRET, site_id="north", scheme="rot13")  # type: ignore[arg-type]
    protector = TemplateProtector(SECRET, site_id="north")
    with pytest.raises(ValueError, match="shape"):
        protector.protect(np.zeros((2, 64)))
    with pytest.raises(ValueError, match="values"):
        protector.score(np.zeros((1, 64)), np.zeros((1, 128)))
    assert "north" in repr(protector)
    assert SECRET.hex() not in repr(protector)
