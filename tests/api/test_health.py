"""Operations endpoints."""

from __future__ import annotations

from fastapi.testclient import TestClient


def test_healthz_and_metrics(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    body = client.get("/metrics").text
    assert "facegate_http_requests_total" in body
    assert 'route="/healthz"' in body


def test_unknown_route_and_oversized_body_get_the_error_body(client: TestClient) -> None:
    response = client.get("/nowhere")
    assert (response.status_code, response.json()["error"]["code"]) == (404, "not_found")
    response = client.post("/healthz", content=b"x" * 10, headers={"content-length": "999999999"})
    assert (response.status_code, response.json()["error"]["code"]) == (413, "request_too_large")
