"""The follow-up an intervention asks for, and what happens to follow-ups when their
intervention or client goes: rules of this slice, run by the unit of work on every write
that applies slice rules (a phone's push; `outreach.records.unit`).

* An intervention with a client and `follow_up_on` gets a follow-up with id
  `uuid5(intervention_id, "follow_up")` (`follow_up_id_for`) unless one exists for it;
  while it is open its due date and client follow the intervention.
* A follow-up the phone makes for the same intervention replaces the server's (the
  server's is deleted, cause `device_follow_up`).
* Deleting a client or an intervention also deletes its open follow-ups.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any, Protocol

from sqlalchemy import and_, or_

from outreach.core.db import among
from outreach.interventions.models import FollowUp
from outreach.interventions.rules import (
    DEFAULT_FOLLOW_UP_REASON,
    FOLLOW_UP,
    INTERVENTION,
    follow_up_id_for,
)
from outreach.records.registry import on
from outreach.records.unit import Row, UnitOfWork


class Change(Protocol):
    """What a prefetch hook reads of a pending change (a push's mutation)."""

    entity: str
    op: str
    id: uuid.UUID
    values: dict[str, Any]


def open_follow_up(follow_up: Any = FollowUp) -> Any:
    """SQL: a follow-up still to be done (not done, not deleted). The caseload's lists
    and counts use this one rule."""
    return and_(follow_up.done_at.is_(None), follow_up.deleted_at.is_(None))


def is_open(row: Row) -> bool:
    return row["done_at"] is None and row["deleted_at"] is None


@on("prefetch", "follow_up")
def load_related_follow_ups(uow: UnitOfWork, changes: Iterable[Change]) -> None:
    """The follow-ups a batch may make, move, replace or delete, in one or two queries:
    those of interventions deleted or asking for one, the server's follow-up of
    interventions a new follow-up names, and the open follow-ups of deleted clients."""
    sources: set[uuid.UUID] = set()
    named: set[uuid.UUID] = set()
    deleted_clients: set[uuid.UUID] = set()
    for change in changes:
        if change.entity == INTERVENTION.name and (
            change.op == "delete" or change.values.get("follow_up_on")
        ):
            sources.add(change.id)
        elif change.entity == FOLLOW_UP.name and change.values.get("intervention_id"):
            named.add(uuid.UUID(change.values["intervention_id"]))
        elif change.entity == "client" and change.op == "delete":
            deleted_clients.add(change.id)
        if change.entity == INTERVENTION.name:
            row = uow.get(INTERVENTION.name, change.id)
            if row is not None and row["follow_up_on"] is not None:
                sources.add(change.id)
    uow.load(FOLLOW_UP.name, {follow_up_id_for(i) for i in sources | named})
    table = FollowUp.__table__
    linked = []
    if sources:
        linked.append(among(table.c.intervention_id, sources))
    if deleted_clients:
        linked.append(and_(among(table.c.client_id, deleted_clients), open_follow_up(table.c)))
    if linked:
        uow.load_where(FOLLOW_UP.name, or_(*linked))


@on("written", "intervention")
def follow_intervention(uow: UnitOfWork, new: Row, previous: Row | None) -> None:
    """Make the follow-up an intervention asks for, or keep the server's open one in
    step with it (due date and client)."""
    if new["client_id"] is None or new["follow_up_on"] is None or new["deleted_at"] is not None:
        return
    auto_id = follow_up_id_for(new["id"])
    if not uow.children(FOLLOW_UP.name, "intervention_id", new["id"]):
        if uow.get(FOLLOW_UP.name, auto_id) is not None:  # made before and moved on
            return
        uow.create(
            FOLLOW_UP.name,
            {
                "id": auto_id,
                "client_id": new["client_id"],
                "team_id": new["team_id"],
                "intervention_id": new["id"],
                "due_on": new["follow_up_on"],
                "reason": DEFAULT_FOLLOW_UP_REASON,
                "assigned_to_id": uow.writer.actor_id,
                "created_by_id": uow.writer.actor_id,
            },
            reason="auto",
            cause="follow_up_on",
        )
        return
    auto = uow.get(FOLLOW_UP.name, auto_id)
    if (
        auto is not None
        and is_open(auto)
        and (auto["due_on"] != new["follow_up_on"] or auto["client_id"] != new["client_id"])
    ):
        moved = {**auto, "due_on": new["follow_up_on"], "client_id": new["client_id"]}
        uow.update(FOLLOW_UP.name, moved, reason="auto", cause="follow_up_on")


@on("written", "follow_up")
def replace_server_follow_up(uow: UnitOfWork, new: Row, previous: Row | None) -> None:
    """A follow-up the phone makes for an intervention replaces the server's one."""
    if previous is not None or new["intervention_id"] is None:
        return
    auto_id = follow_up_id_for(new["intervention_id"])
    auto = uow.get(FOLLOW_UP.name, auto_id)
    if auto_id != new["id"] and auto is not None and auto["deleted_at"] is None:
        uow.delete(FOLLOW_UP.name, auto, reason="superseded", cause="device_follow_up")


def _delete_open_follow_ups(uow: UnitOfWork, rows: list[Row], cause: str) -> None:
    for follow_up in rows:
        if is_open(follow_up):
            uow.delete(FOLLOW_UP.name, follow_up, cause=cause)


@on("deleted", "intervention")
def follow_ups_of_deleted_intervention(uow: UnitOfWork, row: Row) -> None:
    rows = uow.children(FOLLOW_UP.name, "intervention_id", row["id"])
    _delete_open_follow_ups(uow, rows, "intervention_deleted")


@on("deleted", "client")
def follow_ups_of_deleted_client(uow: UnitOfWork, row: Row) -> None:
    rows = uow.children(FOLLOW_UP.name, "client_id", row["id"])
    _delete_open_follow_ups(uow, rows, "client_deleted")
