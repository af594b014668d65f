"""Pathway rules the unit of work runs on every write (DESIGN §5b): who may refer, accept
or decline; what a referral shares; the steps other records move it through.

* Refer (a new referral, status `sent`): only to another team that shares an agreement
  in force with the referring team, and only for a client whose consent to share is
  recorded. The referral and the client are then shared with the receiving team
  (`record_share`): its phones get both at their next pull.
* Accept or decline: only the receiving team, only from `sent`; accepting needs the
  consent and an agreement still in force. A declined (or withdrawn) referral ends the
  client's share with that team, unless another referral keeps it.
* The referring team may edit a referral while it is `sent`, or close it then (withdraw);
  every later step is the receiving team's (or comes from the teams' own records).
* Steps set by the teams' own records: the receiving team's first intervention with the
  client after the referral is its first contact; a `treatment_entry_confirmed`
  intervention (by either team) is the treatment entry.
* Consent withdrawn: teams holding the client keep what they hold (records already
  shared stay with the team that has them) but get no newer version of it, and no new
  referral can be made; a referral not yet accepted cannot be accepted.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import and_

from outreach.access.scope import partnership_between
from outreach.core.db import among
from outreach.pathways.models import Referral
from outreach.pathways.rules import MOVES, REFERRAL
from outreach.records.registry import on
from outreach.records.unit import Row, UnitOfWork

NO_CONSENT = "No consent: record the client's consent to share before referring."
CONSENT_WITHDRAWN = "No consent: the client has withdrawn consent to share."
NO_AGREEMENT = "No agreement: your team has no data-sharing agreement in force with that team."
OWN_TEAM = "Wrong team: refer to a partner team, not your own."
NOT_YOURS = (
    "Wrong team: this client was shared with your team by another team; only that team "
    "can refer them on."
)
ONLY_RECEIVER = (
    "Wrong team: only the receiving team can accept, decline or move on a referral "
    "(the referring team may withdraw it while it is sent)."
)
ANSWERED = "This referral has been answered: make a new referral instead."
ONLY_REFERRER = "Wrong team: only the referring team can change this."
FIXED = "A referral keeps its client and team: make a new referral instead."
OPEN_STEPS = ("accepted", "first_contact")
TREATMENT_ENTRY = "treatment_entry_confirmed"
RECEIVER_FIELDS = ("status", "status_at", "closed_reason")


class Change(Protocol):
    entity: str
    op: str
    id: uuid.UUID
    values: dict[str, Any]


def _agreement(uow: UnitOfWork, team_id: int, other: int) -> int | None:
    cache = uow.notes.setdefault("agreements", {})
    if (team_id, other) not in cache:
        cache[(team_id, other)] = partnership_between(team_id, other, uow.writer.now.date())
    return cache[(team_id, other)]


def _consent(uow: UnitOfWork, client_id: Any) -> bool | None:
    if client_id is None:
        return None
    client = uow.get("client", uuid.UUID(str(client_id)))
    return None if client is None else client["consent_to_share"]


@on("check", REFERRAL.name)
def check_referral_move(
    uow: UnitOfWork, team_id: int, row: Row | None, values: dict[str, Any]
) -> dict[str, list[str]]:
    """Consent, agreement and team rules of a new referral or a change to one."""
    if row is None:
        return _check_new(uow, team_id, values)
    current = REFERRAL.data(row)
    if values["client_id"] != current["client_id"] or values["to_team_id"] != row["to_team_id"]:
        return {
            "client_id" if values["client_id"] != current["client_id"] else "to_team_id": [FIXED]
        }
    old, new = row["status"], values["status"]
    receiver = team_id == row["to_team_id"]
    changed = [
        n for n in REFERRAL.field_names if n not in RECEIVER_FIELDS and values[n] != current[n]
    ]
    if changed and receiver:
        return {name: [ONLY_REFERRER] for name in changed}
    if changed and old != "sent":
        return {name: [ANSWERED] for name in changed}
    if new == old:
        return {}
    if new not in MOVES[old]:
        return {"status": [f"A referral that is {old.replace('_', ' ')} cannot become {new}."]}
    if not receiver and not (old == "sent" and new == "closed"):
        return {"status": [ONLY_RECEIVER]}
    if new == "accepted":
        if _consent(uow, values["client_id"]) is not True:
            return {"status": [CONSENT_WITHDRAWN]}
        if _agreement(uow, row["team_id"], row["to_team_id"]) is None:
            return {"status": [NO_AGREEMENT]}
    return {}


def _check_new(uow: UnitOfWork, team_id: int, values: dict[str, Any]) -> dict[str, list[str]]:
    if values["status"] != "sent":
        return {"status": ["A new referral is sent: its status must be sent."]}
    if values["to_team_id"] == team_id:
        return {"to_team_id": [OWN_TEAM]}
    client = uow.get("client", uuid.UUID(str(values["client_id"])))
    if client is not None and client["team_id"] != team_id:
        # A client shared with this team is another team's: passing it on would share
        # that team's record with a team it may have no agreement with.
        return {"client_id": [NOT_YOURS]}
    if _consent(uow, values["client_id"]) is not True:
        return {"client_id": [NO_CONSENT]}
    if _agreement(uow, team_id, values["to_team_id"]) is None:
        return {"to_team_id": [NO_AGREEMENT]}
    return {}


@on("written", REFERRAL.name)
def share_referral(uow: UnitOfWork, new: Row, previous: Row | None) -> None:
    """A new referral reaches the receiving team with its client; a declined or closed
    one that was never taken on takes the client back off the team's phones."""
    to_team = new["to_team_id"]
    if previous is None and new["deleted_at"] is None:
        new["partnership_id"] = _agreement(uow, new["team_id"], to_team)
        new["created_by_id"] = new.get("created_by_id") or uow.writer.actor_id
        uow.share(REFERRAL.name, new["id"], to_team)
        uow.load("client", [new["client_id"]])
        uow.share("client", new["client_id"], to_team)
        return
    if previous is None or previous["status"] == new["status"]:
        return
    if new["status"] in ("accepted", "declined"):
        new["responded_by_id"] = uow.writer.actor_id
    if new["status"] == "closed" and new.get("closed_at") is None:
        new["closed_at"] = new["status_at"]
    never_taken_on = previous["status"] == "sent" and new["status"] in ("declined", "closed")
    if never_taken_on:
        _release_client(uow, new)


@on("deleted", REFERRAL.name)
def referral_deleted(uow: UnitOfWork, row: Row) -> None:
    if row["status"] == "sent":
        _release_client(uow, row)


def _release_client(uow: UnitOfWork, referral: Row) -> None:
    """End the client's share with the receiving team unless another live referral of
    the client to that team, not declined or closed, keeps it."""
    table = Referral.__table__
    others = uow.load_where(
        REFERRAL.name,
        and_(
            table.c.client_id == referral["client_id"],
            table.c.to_team_id == referral["to_team_id"],
            table.c.id != referral["id"],
        ),
    )
    keeping = [
        r for r in others if r["deleted_at"] is None and r["status"] not in ("declined", "closed")
    ]
    if not keeping:
        uow.unshare("client", referral["client_id"], referral["to_team_id"])


@on("written", "client")
def consent_withdrawn(uow: UnitOfWork, new: Row, previous: Row | None) -> None:
    """Consent withdrawn: teams holding the client, or its referrals, keep what they
    have, get no more (a newer version stays with the team that owns the record)."""
    if previous is not None and previous["consent_to_share"] and not new["consent_to_share"]:
        uow.freeze_shares("client", new["id"])
        table = Referral.__table__
        for referral in uow.load_where(REFERRAL.name, table.c.client_id == new["id"]):
            uow.freeze_shares(REFERRAL.name, referral["id"])


# ---------------------------------------------------------------- steps from records


def _load_referrals(uow: UnitOfWork, client_ids: Iterable[uuid.UUID]) -> None:
    loaded: set[uuid.UUID] = uow.notes.setdefault("referrals_of", set())
    wanted = {c for c in client_ids if c not in loaded}
    if not wanted:
        return
    table = Referral.__table__
    uow.load_where(
        REFERRAL.name,
        and_(
            among(table.c.client_id, wanted),
            table.c.status.in_(OPEN_STEPS),
            table.c.deleted_at.is_(None),
        ),
    )
    loaded |= wanted


@on("prefetch", REFERRAL.name)
def load_open_referrals(uow: UnitOfWork, changes: Iterable[Change]) -> None:
    """The open referrals of the clients a batch's interventions name, in one query."""
    clients = {
        uuid.UUID(c.values["client_id"])
        for c in changes
        if c.entity == "intervention" and c.op == "upsert" and c.values.get("client_id")
    }
    _load_referrals(uow, clients)


@on("written", "intervention")
def pathway_steps(uow: UnitOfWork, new: Row, previous: Row | None) -> None:
    """First contact and treatment entry, from the teams' own interventions."""
    client_id = new["client_id"]
    if client_id is None or new["deleted_at"] is not None:
        return
    _load_referrals(uow, [client_id])
    occurred: datetime = new["occurred_at"]
    entry = new["type"] == TREATMENT_ENTRY
    for referral in uow.children(REFERRAL.name, "client_id", client_id):
        if referral["status"] not in OPEN_STEPS or referral["deleted_at"] is not None:
            continue
        if referral["sent_at"] is not None and occurred < referral["sent_at"]:
            continue
        receiver = new["team_id"] == referral["to_team_id"]
        if entry and (receiver or new["team_id"] == referral["team_id"]):
            status = "treatment_entry"
        elif receiver and referral["status"] == "accepted":
            status = "first_contact"
        else:
            continue
        uow.update(
            REFERRAL.name,
            {**referral, "status": status, "status_at": occurred},
            reason="pathway",
            cause="intervention",
            audit_detail={"intervention_id": str(new["id"])},
        )
