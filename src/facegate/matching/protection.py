"""Protected templates (ISO/IEC 24745): a per-site secret transform applied before matching.

Templates are encrypted at rest (``store/crypto.py``) but are plain vectors while a gate
matches. A protector maps each plain ``(128,)`` template to a protected one with a transform
keyed by the site's secret, a site id and a key version, so that

* templates of one person at two sites (two keys) do not link under the comparator, and
* a leaked protected gallery is renewed by moving to the next key version and protecting the
  stored templates again: nobody's face is needed, and the leaked copy stops linking.

Schemes (:class:`ProtectionScheme`):

* ``ORTHONORMAL``: ``y = Q x`` with ``Q`` a keyed random orthonormal ``128 × 128`` matrix.
  Distances, and so the project's score ``1 − euclidean distance``, are preserved exactly:
  no accuracy cost, the calibrated thresholds still hold. Invertible by whoever holds the key,
  or from 128 known (plain, protected) pairs.
* ``SIGN``: ``y = sign(W x)`` with ``W`` a keyed Gaussian ``bits × 128`` matrix (BioHashing-
  like). Many-to-one, so harder to invert, but the score is ``1 − Hamming fraction`` and
  needs its own calibrated threshold (it costs accuracy: see ``facegate audit security``).

The key is HKDF-SHA256 of the 32-byte site secret with the scheme, site id and version in
``info``; the matrices are drawn from numpy's PCG64 seeded with the 256-bit key (the matrix
is the secret; PCG64 is not a CSPRNG, but nothing it draws is ever published).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numpy as np
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from numpy.typing import NDArray

from facegate.errors import KeyMaterialError
from facegate.vision.record import EMBEDDING_DIM

#: Bytes of the site secret and of each derived protection key.
SECRET_BYTES = 32
#: Bits of a sign-quantised template (twice the embedding's dimension: ~2% of the score's
#: spread lost to quantisation, against 128 bits' ~3%).
DEFAULT_SIGN_BITS = 256
_INFO_LABEL = "facegate/template-protection/v1"


class ProtectionScheme(StrEnum):
    ORTHONORMAL = "orthonormal"
    SIGN = "sign"


@dataclass(frozen=True, slots=True)
class ProtectionKeyId:
    """Names a protection key without revealing it; stored beside protected templates."""

    site_id: str
    version: int
    scheme: ProtectionScheme


def derive_protection_key(
    site_secret: bytes, site_id: str, version: int, scheme: ProtectionScheme
) -> bytes:
    """The 32-byte protection key of ``(site_id, version, scheme)`` from the site's secret."""
    if len(site_secret) != SECRET_BYTES:
        raise KeyMaterialError(f"a site secret is {SECRET_BYTES} bytes, got {len(site_secret)}")
    if version < 1:
        raise ValueError(f"version must be >= 1, got {version}")
    info = f"{_INFO_LABEL}|{ProtectionScheme(scheme).value}|{site_id}|{version}".encode()
    return HKDF(algorithm=hashes.SHA256(), length=SECRET_BYTES, salt=None, info=info).derive(
        site_secret
    )


class TemplateProtector:
    """Protects templates and scores protected ones for one site, key version and scheme.

    >>> import numpy as np
    >>> p = TemplateProtector(bytes(32), site_id="north", version=1)
    >>> x = np.eye(128, dtype=np.float32)[:2]
    >>> bool(np.allclose(p.score(p.protect(x), p.protect(x)), [[1, 1 - 2**0.5], [1 - 2**0.5, 1]]))
    True
    """

    __slots__ = ("_matrix", "_secret", "key_id")
    _matrix: NDArray[np.float64]
    _secret: bytes
    key_id: ProtectionKeyId

    def __init__(
        self,
        site_secret: bytes,
        *,
        site_id: str,
        version: int = 1,
        scheme: ProtectionScheme = ProtectionScheme.ORTHONORMAL,
        bits: int = DEFAULT_SIGN_BITS,
    ) -> None:
        scheme = ProtectionScheme(scheme)
        if bits < 1:
            raise ValueError(f"bits must be >= 1, got {bits}")
        key = derive_protection_key(site_secret, site_id, version, scheme)
        rng = np.random.default_rng(np.random.SeedSequence(int.from_bytes(key, "big")))
        if scheme is ProtectionScheme.ORTHONORMAL:
            gaussian = rng.standard_normal((EMBEDDING_DIM, EMBEDDING_DIM))
            q, r = np.linalg.qr(gaussian)
            # Fix QR's sign ambiguity so Q is Haar-distributed (uniform over rotations).
            self._matrix = q * np.sign(np.diag(r))[np.newaxis, :]
        else:
            self._matrix = rng.standard_normal((bits, EMBEDDING_DIM))
        self._secret = site_secret
        self.key_id = ProtectionKeyId(site_id, version, scheme)

    def __repr__(self) -> str:
        return f"TemplateProtector({self.key_id!r})"

    @property
    def scheme(self) -> ProtectionScheme:
        return self.key_id.scheme

    @property
    def width(self) -> int:
        """Length of a protected template."""
        return int(self._matrix.shape[0])

    def protect(self, templates: NDArray[np.floating]) -> NDArray[np.float32]:
        """``(n, 128)`` or ``(128,)`` plain templates → ``(n, width)`` float32 protected ones
        (``SIGN``: entries ±1)."""
        plain = np.asarray(templates, dtype=np.float64)
        if plain.ndim == 1:
            plain = plain[np.newaxis, :]
        if plain.ndim != 2 or plain.shape[1] != EMBEDDING_DIM:
            raise ValueError(f"templates must have shape (n, {EMBEDDING_DIM}), got {plain.shape}")
        projected = plain @ self._matrix.T
        if self.scheme is ProtectionScheme.SIGN:
            projected = np.where(projected >= 0.0, 1.0, -1.0)
        return projected.astype(np.float32)

    def score(
        self, probes: NDArray[np.floating], references: NDArray[np.floating]
    ) -> NDArray[np.float64]:
        """``(n, m)`` similarities of protected probes to protected references; higher is
        more alike. ``ORTHONORMAL``: ``1 − euclidean distance`` (equal to the plain score).
        ``SIGN``: ``1 − Hamming fraction`` in [0, 1] (its own threshold; stricter is higher)."""
        p = np.atleast_2d(np.asarray(probes, dtype=np.float64))
        r = np.atleast_2d(np.asarray(references, dtype=np.float64))
        if p.shape[1] != self.width or r.shape[1] != self.width:
            raise ValueError(f"protected templates have {self.width} values for {self.key_id!r}")
        if self.scheme is ProtectionScheme.SIGN:
            agreement: NDArray[np.float64] = (p @ r.T / self.width + 1.0) / 2.0
            return agreement
        squared = np.sum(p * p, 1)[:, None] + np.sum(r * r, 1)[None, :] - 2.0 * p @ r.T
        similarity: NDArray[np.float64] = 1.0 - np.sqrt(np.maximum(squared, 0.0))
        return similarity

    def renewed(self) -> TemplateProtector:
        """The same site and scheme at the next key version (after a leak, or on schedule).

        Renew a gallery with ``renewed().protect(plain)`` from the encrypted store, then drop
        every template protected with this version.
        """
        return TemplateProtector(
            self._secret,
            site_id=self.key_id.site_id,
            version=self.key_id.version + 1,
            scheme=self.scheme,
            bits=self.width,
        )

    def reprotect(
        self, protected: NDArray[np.floating], target: TemplateProtector
    ) -> NDArray[np.float32]:
        """Move ``ORTHONORMAL`` templates from this key to ``target``'s without the plain ones
        (``Q_target Q_thisᵀ``). ``SIGN`` templates cannot be moved: protect the plain ones again.
        """
        if self.scheme is not ProtectionScheme.ORTHONORMAL or target.scheme is not self.scheme:
            raise ValueError("reprotect needs two ORTHONORMAL protectors; protect plain templates")
        moved = (
            np.atleast_2d(np.asarray(protected, dtype=np.float64))
            @ (target._matrix @ self._matrix.T).T
        )
        return moved.astype(np.float32)
