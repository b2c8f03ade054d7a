"""Checks every browser page must pass, and the helpers the browser tests call.

Every page a test opens through Playwright's ``page``/``context``/``new_context`` fixtures is
watched (``tests/browser/conftest.py``), and when the test body ends the checks below run on
every watched page; a problem fails the test with what was found and where:

- a console message of type ``error`` or an uncaught exception (``pageerror``); the
  browser's own "Failed to load resource" line for an API answer of 4xx is not one: the
  page shows that refusal in words (``FG.errorText``), and its test checks the words;
- visible text that looks like a program's repr (``<built-in``, ``[object Object]``, a
  standalone ``undefined``/``NaN``/``null``, ``Traceback``, ...);
- on a Chinese page (``<html lang="zh-CN">``): one of the API's English error messages
  (read from the ``raise XxxError("...")`` calls in ``src/facegate``) or any visible text
  with a run of ``ENGLISH_RUN_WORDS`` English words, outside ``<code>``, form fields and
  parts marked with an English ``lang``;
- horizontal overflow of the page: ``scrollWidth > innerWidth + 1``.

For tests:

- ``checkpoint(page, "me-consent-given")`` runs the checks now and saves
  ``artifacts/browser/me-consent-given-<lang>-<width>.png`` (full page);
- ``check_now(page)`` runs the checks now without a screenshot;
- ``open_page(page, url, lang, width)`` sizes the viewport (``VIEWPORTS``) and opens ``url``
  in ``lang``; the ``variant`` fixture runs a test once per language and width.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from playwright.sync_api import ConsoleMessage, Error, Page

REPO_ROOT = Path(__file__).resolve().parents[2]
SOURCE_ROOT = REPO_ROOT / "src" / "facegate"
ARTIFACTS = REPO_ROOT / "artifacts" / "browser"

#: name → (width, height) in CSS pixels: an office monitor and a common phone.
VIEWPORTS: dict[str, tuple[int, int]] = {"desktop": (1280, 900), "phone": (390, 844)}
LANGUAGES = ("zh", "en")
#: Scrollbars and sub-pixel layout may add one pixel without anything being cut off.
OVERFLOW_TOLERANCE_PX = 1
#: A message prefix this long is the API's wording, not an accident of ordinary words.
MESSAGE_PREFIX_CHARS = 20
#: Shorter messages are matched whole, if they have at least this many characters ...
SHORT_MESSAGE_MIN_CHARS = 10
#: ... and words (so that a bare "not found" does not match every English page).
SHORT_MESSAGE_MIN_WORDS = 3
#: This many English words in a row on a Chinese page is an untranslated sentence.
ENGLISH_RUN_WORDS = 5
#: The most overflowing elements a report names.
OVERFLOW_REPORT_LIMIT = 5

#: Text a program printed instead of words for people.
REPR_PATTERN = re.compile(
    r"<built-in|<function|<bound method|<lambda>|\[object Object\]|Traceback"
    # Standalone: Chinese characters may touch it ("编号undefined"), ASCII letters may not.
    r"|(?<![A-Za-z0-9_-])(?:undefined|NaN|null)(?![A-Za-z0-9_-])"
)
_WORD = r"[A-Za-z][A-Za-z'’]*"
ENGLISH_RUN = re.compile(rf"{_WORD}(?:[\s,;:\"()/.!?–—-]+{_WORD}){{{ENGLISH_RUN_WORDS - 1},}}")
#: Not words: addresses, e-mail addresses, the brand, hex ids and codes.
NOT_WORDS = re.compile(
    r"https?://\S+|[\w.+-]+@[\w.-]+|(?i:\bfacegate\b)|\b[0-9a-fA-F]{8,}\b"
    r"|\b[A-Z0-9]+(?:-[A-Z0-9]+)+\b"
)
#: The browser's own line for a response that was not 2xx; ``status of 404 (Not Found)``.
FAILED_RESOURCE = re.compile(
    r"Failed to load resource: the server responded with a status of (\d+)"
)
CLIENT_ERROR = range(400, 500)
API_PREFIX = "/api/"

BODY_TEXT_JS = "() => (document.body ? document.body.innerText : '')"
#: Visible text nodes of a Chinese page that must be Chinese: not in code, form fields or
#: an element marked as another language (the notice's English column).
VISIBLE_TEXTS_JS = """() => {
  const SKIP = "script,style,noscript,template,code,pre,kbd,samp,input,textarea,[translate=no]";
  const texts = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const text = node.textContent.trim();
    const element = node.parentElement;
    if (!text || !element || element.closest(SKIP)) continue;
    const marked = element.closest("[lang]");
    if (marked && !marked.lang.toLowerCase().startsWith("zh")) continue;
    const box = element.tagName === "OPTION" ? element.closest("select") || element : element;
    if (!box.checkVisibility({ visibilityProperty: true })) continue;
    texts.push(text);
  }
  return texts;
}"""

#: The outermost elements that stick out to the right of the viewport, unless a scrolling
#: or clipping container holds them.
OVERFLOW_JS = """(limit) => {
  const width = window.innerWidth;
  const over = (el) => el.getBoundingClientRect().right > width + 1;
  const clipped = (el) => {
    for (let up = el.parentElement; up && up !== document.body; up = up.parentElement) {
      if (getComputedStyle(up).overflowX !== "visible") return true;
    }
    return false;
  };
  const name = (el) => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "")
    + Array.from(el.classList, (c) => "." + c).join("");
  const found = [];
  for (const el of document.body.querySelectorAll("*")) {
    if (!over(el) || clipped(el)) continue;
    if (el.parentElement && el.parentElement !== document.body && over(el.parentElement)) continue;
    const rect = el.getBoundingClientRect();
    found.push(name(el) + " (right edge " + Math.round(rect.right) + " px)");
    if (found.length >= limit) break;
  }
  return {
    scrollWidth: document.documentElement.scrollWidth, innerWidth: width, elements: found,
  };
}"""


@dataclass
class PageLog:
    """What one page said on its console and threw, not yet reported."""

    events: list[str] = field(default_factory=list)


#: Every page with handlers attached (once each), and the pages the running test checks.
_LOGS: dict[Page, PageLog] = {}
_CHECKED: dict[Page, None] = {}


def watch(page: Page) -> None:
    """Check ``page`` when the running test ends, and collect its console errors and
    uncaught exceptions from now on. A page that outlives a test (a module's page) is
    watched again by each test that uses it."""
    _CHECKED[page] = None
    if page in _LOGS:
        return
    log = _LOGS[page] = PageLog()

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error" and not _is_handled_refusal(message):
            where = message.location.get("url") or page.url
            log.events.append(f"console error at {where}: {message.text}")

    def on_page_error(error: Error) -> None:
        log.events.append(f"uncaught exception at {page.url}: {error.message}")

    page.on("console", on_console)
    page.on("pageerror", on_page_error)


def watched_pages() -> list[Page]:
    """The pages the running test opened or watched, in order."""
    return list(_CHECKED)


def forget_all() -> None:
    """End of a test: check no page until it is watched again; drop the closed ones."""
    _CHECKED.clear()
    for page in [page for page in _LOGS if page.is_closed()]:
        del _LOGS[page]


def _is_handled_refusal(message: ConsoleMessage) -> bool:
    """The browser's line for an API 4xx, which the page turns into words for people."""
    found = FAILED_RESOURCE.search(message.text)
    if found is None or int(found.group(1)) not in CLIENT_ERROR:
        return False
    return urlsplit(message.location.get("url", "")).path.startswith(API_PREFIX)


def _evaluate(page: Page, script: str, arg: Any = None) -> Any:
    """``page.evaluate``, once more after the load if a navigation replaced the document."""
    try:
        return page.evaluate(script, arg)
    except Error:
        page.wait_for_load_state()
        return page.evaluate(script, arg)


def page_language(page: Page) -> str:
    """``zh`` or ``en``, from ``<html lang>``."""
    lang = _evaluate(page, "document.documentElement.lang") or ""
    return "zh" if str(lang).lower().startswith("zh") else "en"


def find_problems(page: Page) -> list[str]:
    """Everything wrong with ``page`` now; its console errors are reported once."""
    log = _LOGS.get(page)
    problems = list(log.events) if log else []
    if log:
        log.events.clear()
    if page.is_closed():
        return problems
    problems += repr_problems(page) + overflow_problems(page)
    if page_language(page) == "zh":
        problems += english_problems(page)
    return problems


def repr_problems(page: Page) -> list[str]:
    text: str = _evaluate(page, BODY_TEXT_JS)
    return [f"program text on the page: {_context(text, found)!r}" for found in _reprs(text)]


def _reprs(text: str) -> Iterator[re.Match[str]]:
    return REPR_PATTERN.finditer(text)


def _context(text: str, found: re.Match[str], around: int = 30) -> str:
    return text[max(0, found.start() - around) : found.end() + around].replace("\n", " ")


def overflow_problems(page: Page) -> list[str]:
    report = _evaluate(page, OVERFLOW_JS, OVERFLOW_REPORT_LIMIT)
    if report["scrollWidth"] <= report["innerWidth"] + OVERFLOW_TOLERANCE_PX:
        return []
    sticking_out = ", ".join(report["elements"]) or "no single element found"
    return [
        f"the page is wider than the window ({report['scrollWidth']} > "
        f"{report['innerWidth']} px): {sticking_out}"
    ]


def english_problems(page: Page) -> list[str]:
    """English on a Chinese page: an API message, or a run of English words."""
    problems: list[str] = []
    shown: str = _evaluate(page, BODY_TEXT_JS)
    lowered = shown.lower()
    for needle in api_messages():
        if needle in lowered:
            problems.append(f"the API's English message on a Chinese page: {needle!r}")
    for text in _evaluate(page, VISIBLE_TEXTS_JS):
        words = NOT_WORDS.sub(" ", text)
        run = ENGLISH_RUN.search(words)
        if run:
            problems.append(f"English words on a Chinese page: {run.group(0)!r} in {text!r}")
    return problems


@cache
def api_messages(root: Path = SOURCE_ROOT) -> tuple[str, ...]:
    """The literal wording of every ``raise XxxError(...)`` in ``root`` (lower case), cut to
    ``MESSAGE_PREFIX_CHARS`` characters; f-string fields split a message into parts."""
    needles: set[str] = set()
    for path in sorted(root.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call) and node.exc.args:
                for part in literal_parts(node.exc.args[0]):
                    needle = _needle(part)
                    if needle:
                        needles.add(needle)
    return tuple(sorted(needles))


def _needle(part: str) -> str | None:
    part = " ".join(part.split()).strip(" :;,.-()[]'\"").lower()
    if len(part) >= MESSAGE_PREFIX_CHARS:
        return part[:MESSAGE_PREFIX_CHARS]
    words = re.findall(_WORD, part)
    if len(part) >= SHORT_MESSAGE_MIN_CHARS and len(words) >= SHORT_MESSAGE_MIN_WORDS:
        return part
    return None


#: ``%s``-style and ``{name}``-style fields of a format string.
_FIELD = re.compile(r"%[-#0 +]*\d*(?:\.\d+)?[sdrfx]|\{[^{}]*\}")


def literal_parts(expression: ast.expr) -> list[str]:
    """The constant text of a message expression, split where values are filled in."""
    if isinstance(expression, ast.Constant) and isinstance(expression.value, str):
        return _FIELD.split(expression.value)
    if isinstance(expression, ast.JoinedStr):
        return [
            value.value
            for value in expression.values
            if isinstance(value, ast.Constant) and isinstance(value.value, str)
        ]
    if isinstance(expression, ast.BinOp):
        return literal_parts(expression.left) + literal_parts(expression.right)
    if (
        isinstance(expression, ast.Call)
        and isinstance(expression.func, ast.Attribute)
        and expression.func.attr == "format"
    ):
        return literal_parts(expression.func.value)
    return []


def describe(page: Page, problems: list[str]) -> str:
    listed = "\n".join(f"  - {problem}" for problem in problems)
    url = "(closed)" if page.is_closed() else page.url
    return f"browser checks failed on {url}:\n{listed}"


def check_now(page: Page) -> None:
    """Run the checks on ``page`` now; fail with everything found."""
    problems = find_problems(page)
    if problems:
        raise AssertionError(describe(page, problems))


def checkpoint(page: Page, name: str) -> None:
    """Save ``artifacts/browser/<name>-<lang>-<width>.png`` (full page) and run the checks.

    The screenshot is taken first, so a failing check leaves a picture of what was wrong.
    """
    viewport = page.viewport_size
    width = viewport["width"] if viewport else page.evaluate("window.innerWidth")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=ARTIFACTS / f"{name}-{page_language(page)}-{width}.png", full_page=True)
    check_now(page)


@dataclass(frozen=True)
class Variant:
    """One language at one viewport: ``zh-phone`` is Chinese at 390 x 844."""

    lang: str
    viewport: str

    @property
    def size(self) -> tuple[int, int]:
        return VIEWPORTS[self.viewport]

    @property
    def width(self) -> int:
        return self.size[0]

    def __str__(self) -> str:
        return f"{self.lang}-{self.viewport}"


VARIANTS = tuple(Variant(lang, viewport) for lang in LANGUAGES for viewport in VIEWPORTS)


def with_language(url: str, lang: str) -> str:
    """``url`` with ``?lang=`` set, keeping its other query fields and its fragment."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "lang"]
    return urlunsplit(parts._replace(query=urlencode([*query, ("lang", lang)])))


def open_page(page: Page, url: str, lang: str, width: int) -> None:
    """Size the viewport to ``width`` (the height of that width's entry in ``VIEWPORTS``)
    and open ``url`` in ``lang``."""
    heights = {w: h for w, h in VIEWPORTS.values()}
    if width not in heights:
        raise ValueError(f"width must be one of {sorted(heights)}, not {width}")
    if lang not in LANGUAGES:
        raise ValueError(f"lang must be one of {LANGUAGES}, not {lang!r}")
    page.set_viewport_size({"width": width, "height": heights[width]})
    page.goto(with_language(url, lang))
