"""The notice form's round trip: what the console's form sends (the current content with a
field changed, a new version) is published and read back; the form names every notice
field in both languages and every purpose, method and data category the store knows."""

from __future__ import annotations

import copy

import pytest
from fastapi.testclient import TestClient

from facegate.api.i18n import NOTICE_FIELDS
from facegate.store.notices import Language
from facegate.store.records import DataCategory, ProcessingMethod, Purpose
from tests.api.conftest import SITE, Setup
from tests.api.signin import admin_token, bearer

NOTICES = f"/api/v1/sites/{SITE}/notices"


@pytest.mark.rule("R-01", "R-06")
def test_a_form_edit_is_published_and_read_back(client: TestClient, setup: Setup) -> None:
    token = admin_token(client, setup.admin_user)
    current = client.get(NOTICES, headers=bearer(token)).json()[-1]
    content = current["content"]
    content["texts"]["zh"]["contact"] = "物业前台，1 号楼 101 室"
    content["texts"]["en"]["contact"] = "Front desk, building 1, room 101"
    content["methods"] = [*content["methods"], ProcessingMethod.KEEP_DISPUTED_FRAMES.value]
    published = client.post(
        NOTICES, json={"version": "2026-2", "content": content}, headers=bearer(token)
    )
    assert published.status_code == 201, published.text
    assert published.json()["notice"]["widens"] is True  # a new method: consents renew
    latest = client.get(NOTICES, headers=bearer(token)).json()[-1]
    assert latest["version"] == "2026-2"
    assert latest["content"]["texts"]["en"]["contact"] == "Front desk, building 1, room 101"
    assert latest["content"]["texts"]["zh"]["contact"] == "物业前台，1 号楼 101 室"


def test_an_empty_field_is_refused_and_nothing_is_published(
    client: TestClient, setup: Setup
) -> None:
    token = admin_token(client, setup.admin_user)
    before = client.get(NOTICES, headers=bearer(token)).json()
    content = copy.deepcopy(before[-1]["content"])
    content["texts"]["en"]["purpose"] = ""
    refused = client.post(
        NOTICES, json={"version": "2026-3", "content": content}, headers=bearer(token)
    )
    assert refused.status_code == 422
    assert client.get(NOTICES, headers=bearer(token)).json() == before


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_form_has_every_field_and_choice(client: TestClient, lang: str) -> None:
    page = client.get(f"/admin?lang={lang}").text
    for language in Language:
        for field in NOTICE_FIELDS:
            assert f'name="text_{language.value}_{field}"' in page
    for group, values in (
        ("purposes", Purpose),
        ("methods", ProcessingMethod),
        ("scope", DataCategory),
    ):
        for value in values:
            assert f'name="{group}" value="{value.value}"' in page, value
