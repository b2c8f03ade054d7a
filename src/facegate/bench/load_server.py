"""The service under load as its own processes: ``facegate serve --workers N``, on SQLite or
on a throw-away PostgreSQL database.

The single-worker benchmark serves the app in a thread of the benchmark's process; several
workers need real processes, started exactly as a deployment starts them. The data is
prepared first (one process, one migration), then the server is started on it.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from facegate.errors import ConfigError

_STARTUP_SECONDS = 120.0
_STOP_SECONDS = 30.0
#: Runs the CLI of this interpreter's facegate, whatever its script is called.
_CLI = "from facegate.cli.main import main; main()"


@contextmanager
def fresh_postgres_database(admin_url: str) -> Iterator[str]:
    """A new empty database on the server of ``admin_url``; dropped afterwards.

    ``admin_url`` names a database the user may connect to and create databases from
    (e.g. ``postgresql+psycopg://facegate@127.0.0.1:5432/postgres``).
    """
    url = make_url(admin_url)
    if url.get_backend_name() != "postgresql":
        raise ConfigError(f"the load benchmark's database must be PostgreSQL, got {url.drivername}")
    # The service speaks psycopg 3 whatever driver the URL named.
    url = url.set(drivername="postgresql+psycopg")
    name = f"facegate_load_{secrets.token_hex(4)}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT", hide_parameters=True)
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield url.set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


@contextmanager
def served(
    data_dir: Path, port: int, workers: int, database_url: str | None
) -> Iterator[subprocess.Popen[bytes]]:
    """``facegate serve --workers N`` on ``data_dir`` (development, rate limits off), until
    the block ends; ``RuntimeError`` when it does not answer ``/healthz`` in time."""
    import httpx  # an extra (eval), checked by the caller

    env = {
        **os.environ,
        "FACEGATE_ENV": "development",
        "FACEGATE_DATA_DIR": str(data_dir),
        # The benchmark measures the engine, not the limiter (as the single-worker run).
        "FACEGATE_RATE_LIMITS": "false",
    }
    if database_url is not None:
        env["FACEGATE_DATABASE_URL"] = database_url
    else:
        env.pop("FACEGATE_DATABASE_URL", None)
    command = [sys.executable, "-c", _CLI, "serve", "--port", str(port), "--workers", str(workers)]
    log = data_dir / "serve.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(command, env=env, stdout=sink, stderr=subprocess.STDOUT)  # noqa: S603
    try:
        deadline = time.monotonic() + _STARTUP_SECONDS
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"facegate serve exited with {process.returncode}: see {log}")
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"facegate serve did not answer in {_STARTUP_SECONDS:g} s")
            time.sleep(0.2)
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=_STOP_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
