"""The browser checks themselves: each finds what it is for on a tiny page, and a clean
page passes them all. A check that never fails would let every page through."""

from __future__ import annotations

import ast
import html
from http import HTTPStatus

import pytest
from playwright.sync_api import Browser, Page

from tests.browser.checks import (
    ENGLISH_RUN_WORDS,
    MESSAGE_PREFIX_CHARS,
    Variant,
    api_messages,
    check_now,
    find_problems,
    literal_parts,
    with_language,
)
from tests.browser.conftest import LiveSite

CLEAN_ZH = """<!doctype html><html lang="zh-CN"><head>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body><h1>小区门禁</h1><p>住户 Zhang San 的编号 <code>123456</code>，facegate 门禁，
网址 https://example.org/a/b/c/d/e，邮箱 admin@sunny-garden。</p>
<article lang="en"><p>Only to let residents through the gates of this community.</p></article>
<input value="this is an input value with many words">
<p hidden>this hidden text is not shown to anyone here</p></body></html>"""


def zh_page(body: str) -> str:
    return (
        '<!doctype html><html lang="zh-CN"><head><meta name="viewport" '
        f'content="width=device-width, initial-scale=1"></head><body style="margin: 0">{body}'
        "</body></html>"
    )


def settle(page: Page) -> None:
    """Leave the page clean so the automatic end-of-test check passes."""
    page.set_content(CLEAN_ZH)
    find_problems(page)


def test_a_clean_chinese_page_passes_every_check(page: Page) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    page.set_content(CLEAN_ZH)
    assert find_problems(page) == []
    check_now(page)


@pytest.mark.parametrize(
    "shown",
    [
        "清除 <built-in method clear of dict object at 0x7f>",
        "[object Object]",
        "编号 undefined",
        "住户编号undefined",
        "剩余 NaN 次",
        "null",
        "Traceback (most recent call last):",
        "<function render at 0x1>",
        "<bound method Store.get of <Store>>",
    ],
)
def test_program_text_is_found(page: Page, shown: str) -> None:
    page.set_content(zh_page(f"<p>{html.escape(shown)}</p>"))
    problems = [p for p in find_problems(page) if p.startswith("program text on the page")]
    assert len(problems) == 1
    settle(page)


@pytest.mark.parametrize("word", ["nullable", "un-defined", "NaNa"])
def test_words_that_only_contain_a_repr_word_pass(page: Page, word: str) -> None:
    page.set_content(f'<html lang="en"><body><p>{word}</p></body></html>')
    assert find_problems(page) == []


def test_console_errors_and_uncaught_exceptions_are_reported_once(page: Page) -> None:
    page.set_content(zh_page("<p>好</p>"))
    page.evaluate("console.error('boom from the page')")
    page.evaluate("setTimeout(() => { throw new Error('thrown later'); }, 0)")
    page.wait_for_timeout(100)
    problems = find_problems(page)
    assert any("console error" in p and "boom from the page" in p for p in problems)
    assert any("uncaught exception" in p and "thrown later" in p for p in problems)
    assert find_problems(page) == []


def test_a_new_page_of_the_context_is_watched_too(page: Page) -> None:
    second = page.context.new_page()
    second.set_content(zh_page("<p>好</p>"))
    second.evaluate("console.error('from the second tab')")
    second.wait_for_timeout(50)
    assert any("from the second tab" in p for p in find_problems(second))


def test_a_page_of_a_context_made_straight_from_the_browser_is_watched(browser: Browser) -> None:
    context = browser.new_context()
    try:
        tab = context.new_page()
        tab.set_content(zh_page("<p>好</p>"))
        tab.evaluate("console.error('from a module tab')")
        tab.wait_for_timeout(50)
        assert any("from a module tab" in p for p in find_problems(tab))
    finally:
        context.close()


def test_horizontal_overflow_names_the_element(page: Page) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    page.set_content(zh_page('<div id="wide" style="width: 600px">宽</div>'))
    problems = find_problems(page)
    assert len(problems) == 1
    assert "600 > 390" in problems[0]
    assert "div#wide" in problems[0]
    # The same table inside a scrolling container is fine.
    page.set_content(zh_page('<div style="overflow-x: auto"><div style="width: 600px">宽</div>'))
    assert find_problems(page) == []


def test_english_sentence_on_a_chinese_page_is_found(page: Page) -> None:
    words = " ".join(["word"] * ENGLISH_RUN_WORDS)
    page.set_content(zh_page(f"<p>提示：{words}</p>"))
    problems = find_problems(page)
    assert problems == [f"English words on a Chinese page: {words!r} in '提示：{words}'"]
    # One word fewer is a name or a code, not a sentence.
    shorter = " ".join(["word"] * (ENGLISH_RUN_WORDS - 1))
    page.set_content(zh_page(f"<p>提示：{shorter}</p>"))
    assert find_problems(page) == []
    # The same sentence on an English page is what that page should say.
    page.set_content(f'<html lang="en"><body><p>{words}</p></body></html>')
    assert find_problems(page) == []


def test_the_apis_english_message_on_a_chinese_page_is_found(page: Page) -> None:
    message = next(m for m in api_messages() if m.startswith("a resident number is"))
    page.set_content(zh_page(f"<p>出错：{message}</p>"))
    problems = find_problems(page)
    assert f"the API's English message on a Chinese page: {message!r}" in problems
    settle(page)


def test_the_api_message_list_reads_the_raise_statements() -> None:
    messages = api_messages()
    assert len(messages) > 100
    assert all(len(m) <= MESSAGE_PREFIX_CHARS for m in messages)
    assert "a resident number is" in messages

    def parts(source: str) -> list[str]:
        expression = ast.parse(source, mode="eval").body
        return literal_parts(expression)

    assert parts('f"image {i}: {n} faces of comparable size found"') == [
        "image ",
        ": ",
        " faces of comparable size found",
    ]
    assert parts('"no gate %s at site %s" % (a, b)') == ["no gate ", " at site ", ""]
    assert parts('"unknown {kind}".format(kind=k)') == ["unknown ", ""]
    assert parts("name") == []


def test_the_language_is_set_in_the_address_keeping_the_rest() -> None:
    assert with_language("http://h/kiosk#gate=main&key=k", "en") == (
        "http://h/kiosk?lang=en#gate=main&key=k"
    )
    assert with_language("http://h/admin?lang=zh&x=1", "en") == "http://h/admin?x=1&lang=en"
    assert str(Variant("zh", "phone")) == "zh-phone"
    assert Variant("en", "desktop").size == (1280, 900)


@pytest.mark.xfail(
    strict=True,
    raises=AssertionError,
    reason="the end-of-test check must fail a test that leaves program text on its page",
)
def test_a_page_left_with_a_problem_fails_the_test_that_left_it(page: Page) -> None:
    page.set_content(zh_page("<p>[object Object]</p>"))


def test_an_api_refusal_the_page_handles_is_not_a_console_error_but_a_missing_file_is(
    page: Page, live: LiveSite
) -> None:
    page.goto(live.url + "/?lang=zh")
    # Signed out: the API answers 401, which the page turns into words for people.
    status = page.evaluate("fetch('/api/v1/me').then((r) => r.status)")
    assert status == HTTPStatus.UNAUTHORIZED
    page.wait_for_timeout(100)
    assert find_problems(page) == []
    page.evaluate(
        """() => new Promise((done) => {
          const script = document.createElement("script");
          script.src = "/static/no-such-file.js";
          script.onerror = done;
          document.head.append(script);
        })"""
    )
    page.wait_for_timeout(100)
    problems = find_problems(page)
    assert len(problems) == 1
    assert "no-such-file.js" in problems[0]
    assert "status of 404" in problems[0]
