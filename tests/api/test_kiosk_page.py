"""The kiosk page as the server renders it: the keypad's words, and no way off the kiosk.

The Clear key once showed ``<built-in method clear of dict object ...>``: Jinja looked up
``t.clear`` on a dict and found the dict's method. The words are now a ``Words`` object.
"""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

#: A link's target, as the template writes it.
LINK = re.compile(r'<a\b[^>]*\bhref="([^"]*)"')


@pytest.mark.parametrize(
    ("lang", "clear", "enter"), [("zh", "清除", "确认"), ("en", "Clear", "Enter")]
)
def test_the_keypad_shows_its_words_not_a_program_repr(
    client: TestClient, lang: str, clear: str, enter: str
) -> None:
    html = client.get(f"/kiosk?lang={lang}").text
    assert re.search(rf'id="keypad-clear"[^>]*>{clear}</button>', html)
    assert re.search(rf'id="alt-submit"[^>]*>{enter}</button>', html)
    assert "<built-in" not in html
    assert "<bound method" not in html


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_kiosk_links_nowhere_but_its_own_language_switch(client: TestClient, lang: str) -> None:
    html = client.get(f"/kiosk?lang={lang}").text
    assert LINK.findall(html) == [f"?lang={'en' if lang == 'zh' else 'zh'}"]


def test_card_entry_has_its_own_button(client: TestClient) -> None:
    html = client.get("/kiosk?lang=en").text
    assert re.search(r'<button type="submit" id="alt-card-submit"[^>]*>Open with this card<', html)


def test_the_other_pages_keep_their_navigation(client: TestClient) -> None:
    html = client.get("/admin?lang=en").text
    for target in ("/", "/admin", "/me", "/kiosk"):
        assert f'href="{target}"' in html
