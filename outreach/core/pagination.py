"""One page of a list, in the one list shape (`PageSchema` in outreach.core.schemas):
`{"items": [...], "meta": {"page", "per_page", "total"}}`, from `PageArgsSchema`'s
`page` and `per_page`.

`paginate` pages a SELECT in the database (a COUNT of the whole selection, then LIMIT and
OFFSET in the statement's own order); `paginate_list` pages a list already filtered and
sorted in Python (the caseload's client lists, a client's history), whose total is its
length.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import Select, func, select

from outreach.core.extensions import db


def page_body(items: list, total: int, args: Mapping[str, Any]) -> dict[str, Any]:
    """The list shape around one page of `items`."""
    return {
        "items": items,
        "meta": {"page": args["page"], "per_page": args["per_page"], "total": total},
    }


def paginate(
    stmt: Select, args: Mapping[str, Any], *, row: Callable[[Any], Any] | None = None
) -> dict[str, Any]:
    """One page of `stmt` (which must be ordered, so pages neither skip nor repeat rows).
    A statement of one entity or column yields its values, else rows; `row` turns each
    into what the list's schema dumps."""
    page, per_page = args["page"], args["per_page"]
    total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    result = db.session.execute(stmt.limit(per_page).offset((page - 1) * per_page))
    rows = result.scalars().all() if len(stmt.column_descriptions) == 1 else result.all()
    items = [row(r) for r in rows] if row else list(rows)
    return page_body(items, int(total or 0), args)


def paginate_list(rows: Sequence, args: Mapping[str, Any]) -> dict[str, Any]:
    """One page of a list built in Python."""
    start = (args["page"] - 1) * args["per_page"]
    return page_body(list(rows[start : start + args["per_page"]]), len(rows), args)
