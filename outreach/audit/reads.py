"""Audit of reads of personal data: a client's history, client and intervention lists,
probable-duplicate pairs, and every view or download of a commissioner's report. Each
event keeps who, when, from which device and address (`record_event`), and what: ids,
filters, the week and areas, never personal values (no initials, dates of birth or
notes; a list's free text never goes in).

The same actor on the same device reading the same list (same filters, any page) or the
same record within a minute is folded into the first event: a lead paging through a
list, or a screen refreshing, is one read. Folding is per web process (a second gunicorn
worker may write a second event for the same minute: more, never fewer)."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

from outreach.audit.service import record_event
from outreach.core.extensions import db

FOLD_SECONDS = 60.0
MAX_IDS = 200  # ids kept per event (a page holds at most this many)
_seen: dict[tuple, float] = {}
_lock = threading.Lock()
_MAX_SEEN = 20_000


def _jsonable(value: Any) -> Any:
    if isinstance(value, uuid.UUID | date):
        return str(value) if isinstance(value, uuid.UUID) else value.isoformat()
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def _first_in_minute(key: tuple) -> bool:
    now = time.monotonic()
    with _lock:
        last = _seen.get(key)
        if last is not None and now - last < FOLD_SECONDS:
            return False
        if len(_seen) >= _MAX_SEEN:
            for old in [k for k, t in _seen.items() if now - t >= FOLD_SECONDS]:
                del _seen[old]
            if len(_seen) >= _MAX_SEEN:
                _seen.clear()
        _seen[key] = now
        return True


def record_read(
    action: str,
    *,
    actor_id: int,
    device_id: uuid.UUID | None,
    entity: str | None = None,
    record_id: object = None,
    query: Mapping[str, Any] | None = None,
    ids: Iterable[object] = (),
    detail: Mapping[str, Any] | None = None,
    commit: bool = True,
) -> bool:
    """Audit one read (unless folded into the same read of the last minute); returns
    whether an event was written. `query`: the filters that name the list (paging
    excluded); `ids`: the records shown."""
    filters = {
        k: _jsonable(v)
        for k, v in sorted((query or {}).items())
        if k not in ("page", "per_page") and v is not None
    }
    key = (actor_id, device_id, action, str(record_id), repr(sorted(filters.items())))
    if not _first_in_minute(key):
        return False
    shown = [str(i) for i in ids]
    out: dict[str, Any] = dict(detail or {})
    if filters:
        out["query"] = filters
    if shown or entity is None:
        out["ids"] = shown[:MAX_IDS]
        out["count"] = len(shown)
    record_event(
        action,
        actor_id=actor_id,
        device_id=device_id,
        entity=entity,
        record_id=record_id,
        detail=out or None,
    )
    if commit:
        db.session.commit()
    return True


def forget_reads() -> None:
    """Clear the folding memory (tests)."""
    with _lock:
        _seen.clear()
