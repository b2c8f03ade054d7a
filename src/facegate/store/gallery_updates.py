"""Which subjects' usable templates changed between two gallery versions of a site.

Read from ``gallery_change`` (one row per ``queries.bump_gallery``): a cached gallery is
brought up to date by re-reading only those subjects, unless a change named no subject (a
widening notice), the log has a gap (pruned rows), or too many subjects changed, in which
case the gallery is rebuilt in full.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from facegate.store.schema import GalleryChange

#: Above this many changed subjects a full rebuild is about as cheap as the update, and
#: the ``IN`` list of the update's query stays short.
MAX_UPDATED_SUBJECTS = 500


def changed_subjects(
    session: Session, site_id: str, since: int, until: int
) -> frozenset[str] | None:
    """The subjects named by the site's changes after version ``since`` up to ``until``;
    None when the gallery must be rebuilt instead."""
    if until < since:
        return None
    rows = session.execute(
        select(GalleryChange.version, GalleryChange.subject_id).where(
            GalleryChange.site_id == site_id,
            GalleryChange.version > since,
            GalleryChange.version <= until,
        )
    ).all()
    if len({version for version, _ in rows}) != until - since:
        return None
    subjects = {subject_id for _, subject_id in rows}
    if None in subjects:
        return None
    named = frozenset(s for s in subjects if s is not None)
    return named if len(named) <= MAX_UPDATED_SUBJECTS else None
