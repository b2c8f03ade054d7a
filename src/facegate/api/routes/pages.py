"""The server-rendered pages: a landing page, the admin console, resident self-service and
the gate kiosk, in Chinese (default) or English.

Role: public. A page holds no one's data: it is a form and a script, and the script reads
and writes through the JSON API under the role that API route declares (the session cookie
of an administrator or a resident, or the kiosk's device key). The pages are left out of
the OpenAPI schema, which describes the JSON API.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from jinja2 import StrictUndefined

from facegate.api.i18n import (
    LANGUAGE_COOKIE,
    LANGUAGE_QUERY,
    Words,
    choose_language,
    notice_labels,
    strings,
)
from facegate.store.checks import GUARDIAN_CONSENT_AGE
from facegate.store.notices import MAX_RETENTION_DAYS, NOTICE_TEXT_LENGTH

PACKAGE_DIR = Path(__file__).resolve().parent.parent
TEMPLATES_DIR = PACKAGE_DIR / "templates"
STATIC_DIR = PACKAGE_DIR / "static"
#: A year: the language choice is not personal data, only a preference.
LANGUAGE_COOKIE_MAX_AGE = 365 * 24 * 3600
#: Only this origin's own scripts, styles and API; the camera stream is a local blob.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "media-src 'self' blob: mediastream:; connect-src 'self'; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)

templates = Jinja2Templates(directory=TEMPLATES_DIR)
# A misspelt word or variable fails the page's test instead of rendering as nothing.
templates.env.undefined = StrictUndefined
router = APIRouter(include_in_schema=False)


def static_files() -> StaticFiles:
    """The pages' CSS and scripts, mounted at ``/static``."""
    return StaticFiles(directory=STATIC_DIR)


def page_limits(request: Request) -> dict[str, int]:
    """The server's limits the pages check before sending (the server checks again), so a
    script never holds a copy that drifts: a setting or a constant changed here reaches
    the page."""
    settings = request.app.state.facegate.settings
    return {
        "max_upload_bytes": settings.max_upload_bytes,
        "guardian_consent_age": GUARDIAN_CONSENT_AGE,
        "notice_text_length": NOTICE_TEXT_LENGTH,
        "max_retention_days": MAX_RETENTION_DAYS,
    }


def render(request: Request, template: str) -> Response:
    """``template`` in the request's language; remembers an explicit ``?lang=``."""
    asked = request.query_params.get(LANGUAGE_QUERY)
    language = choose_language(asked, request.cookies.get(LANGUAGE_COOKIE))
    words = strings(language)
    response = templates.TemplateResponse(
        request,
        template,
        {
            "lang": language.value,
            "t": Words(words),
            "words": words,
            "notice_labels": notice_labels(),
            "limits": page_limits(request),
        },
    )
    if asked == language.value:
        response.set_cookie(
            LANGUAGE_COOKIE, language.value, max_age=LANGUAGE_COOKIE_MAX_AGE, samesite="lax"
        )
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@router.get("/", response_class=HTMLResponse)
def landing(request: Request) -> Response:
    """Links to the three pages."""
    return render(request, "index.html")


@router.get("/admin", response_class=HTMLResponse)
def admin_console(request: Request) -> Response:
    """The site administrator's console (sign-in form until signed in)."""
    return render(request, "admin.html")


@router.get("/me", response_class=HTMLResponse)
def self_service(request: Request) -> Response:
    """A resident's self-service (sign-in with the front desk's code until signed in)."""
    return render(request, "me.html")


@router.get("/me/export", response_class=HTMLResponse)
def self_service_export(request: Request) -> Response:
    """A resident's data as a page to read and print; the script reads the export API."""
    return render(request, "me_export.html")


@router.get("/kiosk", response_class=HTMLResponse)
def kiosk(request: Request) -> Response:
    """The gate kiosk; its gate and device key come in the URL fragment."""
    return render(request, "kiosk.html")
