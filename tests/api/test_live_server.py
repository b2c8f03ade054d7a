"""What only a real ``facegate serve`` shows: uvicorn's own handling of bodies and headers.

One server process for the module, on a free loopback port, with a throw-away data dir.
"""

from __future__ import annotations

import os
import select
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from facegate.bench.load import free_port
from facegate.core.config import DEFAULT_MAX_UPLOAD_BYTES

MIB = 1 << 20
#: What the tests stream: eight times the limit.
STREAMED = 64 * MIB
_STARTUP_S = 60.0


class Server:
    def __init__(self, process: subprocess.Popen[bytes], port: int) -> None:
        self.process = process
        self.port = port
        self.url = f"http://127.0.0.1:{port}"

    def peak_rss_mib(self) -> float:
        """The process's peak resident memory so far (VmHWM)."""
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        line = next(x for x in status.splitlines() if x.startswith("VmHWM:"))
        return int(line.split()[1]) / 1024


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    data_dir = tmp_path_factory.mktemp("live") / "data"
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("FACEGATE_")}
    env |= {"FACEGATE_DATA_DIR": str(data_dir), "FACEGATE_ENV": "development"}
    process = subprocess.Popen(
        [sys.executable, "-m", "facegate.cli.main", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    live = Server(process, port)
    deadline = time.monotonic() + _STARTUP_S
    while True:
        try:
            if httpx.get(f"{live.url}/healthz", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"facegate serve did not start: {process.stderr.read()!r}")  # type: ignore[union-attr]
        time.sleep(0.2)
    yield live
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()


def _stream_chunked(
    server: Server, path: str, content_type: str, prefix: bytes, total: int
) -> tuple[int, int]:
    """POST ``prefix`` then ``total`` bytes as a chunked body, stopping as soon as the
    server answers; returns (status, bytes sent)."""
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=30)
    try:
        sock.sendall(
            (
                f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
                f"Content-Type: {content_type}\r\nTransfer-Encoding: chunked\r\n\r\n"
            ).encode()
        )
        sock.sendall(f"{len(prefix):x}\r\n".encode() + prefix + b"\r\n")
        chunk = b"7" * MIB
        framed = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
        sent = 0
        try:
            while sent < total:
                answered, _, _ = select.select([sock], [], [], 0)
                if answered:
                    break
                sock.sendall(framed)
                sent += len(chunk)
            else:
                sock.sendall(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered and closed: read what it said
        reply = b""
        while b"\r\n" not in reply:
            part = sock.recv(4096)
            if not part:
                break
            reply += part
        status = int(reply.split(b" ", 2)[1])
        return status, sent
    finally:
        sock.close()


@pytest.mark.slow
@pytest.mark.parametrize(
    ("path", "content_type", "prefix"),
    [
        ("/api/v1/auth/admin", "application/json", b'{"username": "'),
        (
            "/api/v1/decisions",
            "multipart/form-data; boundary=x",
            b'--x\r\nContent-Disposition: form-data; name="image"; filename="f.png"\r\n'
            b"Content-Type: image/png\r\n\r\n",
        ),
    ],
)
def test_a_chunked_body_over_the_limit_is_refused_while_it_streams(
    server: Server, path: str, content_type: str, prefix: bytes
) -> None:
    """No Content-Length to check: the bytes are counted as they arrive, and the body is
    refused with 413 before it is parsed or spooled, with the server's memory bounded."""
    before = server.peak_rss_mib()
    status, sent = _stream_chunked(server, path, content_type, prefix, STREAMED)
    assert status == 413
    assert sent < STREAMED, "the server read the whole body before answering"
    grown = server.peak_rss_mib() - before
    assert grown < 2 * DEFAULT_MAX_UPLOAD_BYTES / MIB, f"peak memory grew by {grown:.0f} MiB"
    assert httpx.get(f"{server.url}/healthz", timeout=5).status_code == 200


def test_forwarded_addresses_from_loopback_do_not_reset_the_sign_in_limit(
    server: Server,
) -> None:
    """uvicorn believes X-Forwarded-For from 127.0.0.1 by default; facegate only from the
    proxies named in FACEGATE_TRUSTED_PROXIES (none here), so each forged address is
    still the one client it is."""
    statuses = []
    for attempt in range(25):
        response = httpx.post(
            f"{server.url}/api/v1/auth/admin",
            json={"username": "nobody", "password": "wrong password here"},
            headers={"X-Forwarded-For": f"203.0.113.{attempt}"},
            timeout=30,
        )
        statuses.append(response.status_code)
    assert statuses[0] == 401
    assert 429 in statuses
