"""Whether an operator account may hold an administrator's session at one site.

Kept apart from ``operator_accounts`` (which builds on ``accounts``) so that ``accounts``
can ask it when it checks a session, without an import circle.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from facegate.store.schema import OperatorAccount, Site

#: The staff role an operator account's session at one of its sites carries.
SITE_SESSION_ROLE = "admin"


def may_administer(session: Session, account_id: str, site_id: str) -> bool:
    """True when ``account_id`` is a live operator account whose organisation runs
    ``site_id`` now: a site moved to another organisation, or a disabled account, ends the
    right (and with it every session that rests on it)."""
    account = session.get(OperatorAccount, account_id)
    if account is None or account.disabled_at is not None:
        return False
    site = session.get(Site, site_id)
    return site is not None and site.operator == account.organisation
