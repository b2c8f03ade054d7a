"""The starter notice names the site and operator once, in each language's own words: the
demo's notice once read "演示小区小区大门" (a name ending in 小区, then 小区 again)."""

from __future__ import annotations

import re

import pytest

from facegate.demo import DEMO_CONTACT, DEMO_OPERATOR
from facegate.privacy.notice_template import name_in, starter_notice
from facegate.store.notices import Language

#: A run of two or more Chinese characters said twice in a row ("小区小区").
DOUBLED = re.compile(r"([\u3400-\u9fff]{2,})\1")
CJK = re.compile(r"[\u3400-\u9fff]")
#: The demo site's name (``facegate.demo``) and names like the ones offices give.
NAMES = ["Demo community / 演示小区", "阳光花园小区", "Sunny Garden", "阳光花园 / Sunny Garden"]


@pytest.mark.rule("R-01")
@pytest.mark.parametrize("site_name", NAMES)
def test_no_notice_text_doubles_a_word_or_mixes_languages(site_name: str) -> None:
    notice = starter_notice(site_name, DEMO_OPERATOR, DEMO_CONTACT)
    zh, en = notice.texts[Language.ZH], notice.texts[Language.EN]
    for field, text in _fields(zh):
        assert not DOUBLED.search(text), (field, text)
    assert name_in(site_name, Language.ZH) in zh.purpose
    if name_in(site_name, Language.EN) != site_name or not CJK.search(site_name):
        # A name with an English part: the English notice holds no Chinese.
        for field, text in _fields(en):
            if field != "contact":  # the office's own words, as given
                assert not CJK.search(text), (field, text)


def _fields(text: object) -> list[tuple[str, str]]:
    names = ["purpose", "method", "scope", "retention", "storage_location", "processor",
             "contact", "withdrawal"]  # fmt: skip
    return [(name, getattr(text, name)) for name in names]


def test_a_two_language_name_splits_by_script() -> None:
    assert name_in("Demo community / 演示小区", Language.ZH) == "演示小区"
    assert name_in("Demo community / 演示小区", Language.EN) == "Demo community"
    assert name_in("阳光花园小区", Language.EN) == "阳光花园小区"  # one language: as it is
    assert name_in("Sunny Garden", Language.ZH) == "Sunny Garden"
