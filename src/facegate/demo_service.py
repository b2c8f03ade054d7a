"""The demo site behind ``make run`` (``facegate serve --demo``), development only.

Makes, once, what the service needs to be tried in a browser: the demo community with its
notice, impact assessment and main gate (from ``facegate.demo``), an administrator, and,
at every start, a fresh kiosk device key and a sign-in code for a demo resident.
"""

from __future__ import annotations

import secrets
import shlex
from dataclasses import dataclass
from pathlib import Path

from facegate.core.config import Environment, Settings
from facegate.demo import (
    DEMO_ACTOR,
    DEMO_CONTACT,
    DEMO_GATE,
    DEMO_GATE_LIVENESS,
    DEMO_NOTICE_VERSION,
    DEMO_OPERATOR,
    DEMO_SITE,
)
from facegate.errors import ConfigError
from facegate.privacy.notice_template import starter_notice
from facegate.store import Store, SubjectKind

DEMO_ADMIN = "admin@demo"
DEMO_RESIDENT = "Demo resident / 演示住户"
KIOSK_DEVICE = "Demo kiosk (make run)"


@dataclass(frozen=True)
class DemoAccess:
    """What to print for the person trying the demo. Secrets here are shown once."""

    admin_user: str
    #: None when the administrator already existed and no new password was set.
    admin_password: str | None
    kiosk_fragment: str
    resident_code: str


def reset_password_command(site: str, username: str, data_dir: Path | None = None) -> str:
    """The exact command that gives ``username`` a new password (printed once), for a
    second ``make run`` whose administrator already exists."""
    where = [] if data_dir is None else ["--data-dir", str(data_dir)]
    words = ["facegate", *where, "admin", "reset-password", "--site", site]
    return shlex.join([*words, "--username", username])


def prepare_demo_service(store: Store, settings: Settings) -> DemoAccess:
    if settings.env is not Environment.DEVELOPMENT:
        raise ConfigError("the demo site is for development only (FACEGATE_ENV=development)")
    if DEMO_SITE not in {s.code for s in store.list_sites()}:
        site = store.create_site(
            DEMO_SITE, "Demo community / 演示小区", operator=DEMO_OPERATOR, actor=DEMO_ACTOR
        )
        notice = starter_notice(site.name, DEMO_OPERATOR, DEMO_CONTACT)
        store.notices.publish(DEMO_SITE, DEMO_NOTICE_VERSION, notice, actor=DEMO_ACTOR)
    if not store.assessments.list(DEMO_SITE):
        store.assessments.record(
            DEMO_SITE,
            "Demo privacy officer",
            "Impact assessment of gate face recognition (demo).",
            actor=DEMO_ACTOR,
        )
    if DEMO_GATE not in {g.code for g in store.gates.list(DEMO_SITE)}:
        store.gates.configure(
            DEMO_SITE, DEMO_GATE, "Main gate / 小区大门",
            accepts_face=True, accepts_card=True, accepts_pin=True, accepts_otp=True,
            liveness=DEMO_GATE_LIVENESS, actor=DEMO_ACTOR,
        )  # fmt: skip
    password = None
    given = settings.admin_password.get_secret_value() if settings.admin_password else None
    if not store.accounts.admin_exists(DEMO_ADMIN):
        password = given or secrets.token_urlsafe(12)
        store.accounts.create_admin(DEMO_SITE, DEMO_ADMIN, password, actor=DEMO_ACTOR)
    elif given:
        store.accounts.set_admin_password(DEMO_ADMIN, given, actor=DEMO_ACTOR)
        password = given
    for device in store.devices.list(DEMO_SITE):
        if device.name == KIOSK_DEVICE and device.revoked_at is None:
            store.devices.revoke(device.id, actor=DEMO_ACTOR)
    kiosk = store.devices.register(DEMO_SITE, KIOSK_DEVICE, [DEMO_GATE], actor=DEMO_ACTOR)
    resident = next(
        (s for s in store.list_subjects(DEMO_SITE) if s.display_name == DEMO_RESIDENT), None
    )
    if resident is None:
        resident = store.add_subject(
            DEMO_SITE, DEMO_RESIDENT, SubjectKind.RESIDENT, actor=DEMO_ACTOR
        )
    code = store.accounts.issue_signin_code(resident.id, actor=DEMO_ACTOR)
    return DemoAccess(
        admin_user=DEMO_ADMIN,
        admin_password=password,
        kiosk_fragment=f"#gate={DEMO_GATE}&key={kiosk.api_key}",
        resident_code=code,
    )
