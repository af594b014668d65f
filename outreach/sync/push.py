"""Push: apply a phone's batch of mutations exactly once (DESIGN §4).

Order of work, so one bad record never poisons the batch and sequences become
visible in commit order:

1. every mutation is checked in Python on its own (shape, size, field rules:
   `outreach.sync.mutations`, with each entity's spec from `outreach.records.registry`);
2. the team's sequence lock is taken (`SeqPool`), serialising the team's pushes;
3. the ledger and every record the batch touches are read into a unit of work
   (`outreach.records.unit`): one query per table (`outreach.sync.planner`);
4. the mutations are applied in order to those working rows (stale edits merged
   against their base version, references checked; slice rules such as the follow-up
   an intervention asks for run as the unit of work's hooks);
5. the unit of work writes everything in bulk inside a savepoint, with the ledger; if
   the database refuses the batch anyway, each mutation is re-applied in its own
   savepoint and only the ones the database refuses are rejected.

Rules that are not obvious:

* `data` is the whole record. A missing optional field is null (a missing
  `client_id` makes an anonymous contact); on an edit a missing required field
  keeps its value.
* Stale edit (`base_version` older than the server's): a three-way merge against
  the base version's data from history. Fields only one side changed take that
  side's value; fields both changed differently go to the server for clients and
  follow-ups, and to the side with the later `occurred_at` for interventions (the
  server on a tie). The result is `conflict` with the merged `record` whenever the
  stored record differs from what the phone sent; the phone's losing values are in
  the new version's history row (`losing`).
* Deletes are soft (`deleted_at`) and win: a delete applies whatever its base, and an
  edit (or re-creation) of a deleted record is a `conflict` that keeps it deleted,
  records the edit in history as losing values, and sends the devices a fresh
  `remove`. Deleting a client or an intervention also deletes its open follow-ups.
* A reference to a client merged into another is redirected to the survivor
  (reported as `conflict`, so the phone shows it).
* An intervention with `client_id` and `follow_up_on` gets a follow-up with id
  `uuid5(intervention_id, "follow_up")` unless one exists for it; while it is open
  its due date follows the intervention. A follow-up the phone makes for the same
  intervention replaces it (the server's is deleted). (`outreach.interventions.service`)
* Field-level permissions (each spec's `permit`, run by the planner on the record about
  to be stored): a worker sets a client's key worker only when creating it (themselves
  by default) and changes only their own follow-ups' due date and assignee; anything
  else is rejected with its reason. A lead's key-worker change is audited as a
  reassignment (`sync.assign`), as the caseload's is.
"""

from __future__ import annotations

import functools
import uuid

from sqlalchemy import select
from sqlalchemy.exc import DataError, IntegrityError

from outreach.core.bulk import insert_rows
from outreach.core.db import in_batch, on_postgres
from outreach.core.extensions import db
from outreach.records.models import SyncMutation
from outreach.records.sequence import SeqPool
from outreach.sync.mutations import Mutation, PushContext, parse_mutation, rejected
from outreach.sync.planner import PushPlan, plan_push

__all__ = ["PushContext", "push_mutations", "summarise"]
DB_ERRORS = (IntegrityError, DataError)
LEDGER_CHUNK = 500


@functools.cache
def _ledger_query(postgres: bool):
    ledger = SyncMutation.__table__.c
    return select(ledger.mutation_id, ledger.user_id, ledger.result).where(
        in_batch(ledger.mutation_id, postgres)
    )


def load_ledger(mutation_ids: list[uuid.UUID]) -> dict[uuid.UUID, tuple[int, dict]]:
    """(user_id, stored result) of already-applied mutations: one query per 500."""
    out: dict[uuid.UUID, tuple[int, dict]] = {}
    statement = _ledger_query(on_postgres())
    connection = db.session.connection()
    for start in range(0, len(mutation_ids), LEDGER_CHUNK):
        chunk = mutation_ids[start : start + LEDGER_CHUNK]
        for mid, user_id, result in connection.execute(statement, {"ids": chunk}):
            out[mid] = (user_id, result)
    return out


def write_plan(plan: PushPlan) -> None:
    """Step 5 (call inside a savepoint): the unit of work's rows, history, change log
    and audit, then the ledger."""
    plan.uow.flush()
    insert_rows(SyncMutation.__table__, plan.ledger)


def _seqs_needed(m: Mutation) -> int:
    """Sequence numbers a mutation usually takes: its record, plus a follow-up."""
    if m.values.get("follow_up_on") or m.values.get("intervention_id"):
        return 2
    return 1


def _duplicate(stored: dict) -> dict:
    out = dict(stored)
    out["original_status"] = stored.get("status")
    out["status"] = "duplicate"
    return out


def push_mutations(ctx: PushContext, raw_mutations: list, *, measure: bool = True) -> list[dict]:
    """Apply a batch; return one result per mutation, in order. Writes audit events,
    ledger rows, history and change-log rows; the caller commits."""
    results: list[dict | None] = [None] * len(raw_mutations)
    parsed: list[Mutation] = []
    ids_seen: dict[uuid.UUID, int] = {}
    repeats: dict[int, int] = {}
    for index, raw in enumerate(raw_mutations):
        mutation, rejection, mutation_id = parse_mutation(index, raw, ctx, measure=measure)
        if mutation_id is not None:
            if mutation_id in ids_seen:
                repeats[index] = ids_seen[mutation_id]
                continue
            ids_seen[mutation_id] = index
        if mutation is None:
            results[index] = rejection
        else:
            parsed.append(mutation)
    pool = SeqPool([ctx.team_id])
    if parsed:
        pool.reserve(sum(_seqs_needed(m) for m in parsed))  # takes the team's lock until commit
    ledger = load_ledger(list(ids_seen)) if ids_seen else {}
    for mutation_id, index in ids_seen.items():
        if mutation_id not in ledger:
            continue
        user_id, stored = ledger[mutation_id]
        if user_id == ctx.user_id:
            results[index] = _duplicate(stored)
        else:
            results[index] = rejected(
                mutation_id, None, {"mutation_id": ["This mutation id has already been used."]}
            )
    to_apply = [m for m in parsed if m.mutation_id not in ledger]
    if to_apply:
        plan = plan_push(ctx, pool, to_apply)
        try:
            with db.session.begin_nested():
                write_plan(plan)
            for index, result in plan.results.items():
                results[index] = result
        except DB_ERRORS:
            # The database refused the batch: apply each mutation in its own savepoint.
            for m in to_apply:
                single = plan_push(ctx, pool, [m])
                try:
                    with db.session.begin_nested():
                        write_plan(single)
                    results[m.index] = single.results[m.index]
                except DB_ERRORS:
                    results[m.index] = rejected(
                        m.mutation_id,
                        m.id,
                        {"_schema": ["The server could not store this record."]},
                        "The server could not store this record. It is kept on the device.",
                    )
    for index, first in repeats.items():
        earlier = results[first]
        assert earlier is not None
        results[index] = _duplicate(earlier) if earlier["status"] != "rejected" else earlier
    return results  # type: ignore[return-value]


def summarise(results: list[dict]) -> dict:
    counts = {"applied": 0, "duplicate": 0, "conflict": 0, "rejected": 0}
    for r in results:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    return counts
