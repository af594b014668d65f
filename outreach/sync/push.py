"""Push: apply a phone's batch of mutations exactly once (DESIGN §4).

Order of work, so one bad record never poisons the batch and sequences become
visible in commit order:

1. every mutation is checked in Python on its own (shape, size, field rules);
2. the team's sequence lock is taken (`allocate_seqs`), serialising the team's pushes;
3. the ledger and every record the batch touches are read: one query per table;
4. the mutations are applied in order to an in-memory copy of those rows (stale
   edits merged against their base version, references checked, follow-ups made);
5. everything is written in bulk inside a savepoint; if the database refuses the
   batch anyway, each mutation is re-applied in its own savepoint and only the
   ones the database refuses are rejected.

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
  intervention replaces it (the server's is deleted).
"""

from __future__ import annotations

import uuid

from sqlalchemy import bindparam, update
from sqlalchemy.exc import DataError, IntegrityError

from outreach.audit.models import AuditEvent
from outreach.audit.service import event_rows
from outreach.core.bulk import insert_rows
from outreach.core.extensions import db
from outreach.people.service import link_probable_duplicates
from outreach.sync.changes import log_changes, write_history
from outreach.sync.models import SyncMutation
from outreach.sync.mutations import Mutation, PushContext, parse_mutation, rejected
from outreach.sync.plan import Plan, SeqPool, load_ledger
from outreach.sync.planner import Planner
from outreach.sync.records import MODELS

__all__ = ["PushContext", "push_mutations", "summarise", "write_plan"]
DB_ERRORS = (IntegrityError, DataError)


# ---------------------------------------------------------------- step 5: write


def write_plan(plan: Plan, team_id: int) -> None:
    """Bulk writes of a planned batch (call inside a savepoint): one bulk insert
    (`insert_rows`) or Core executemany per table and kind."""
    for entity in ("client", "intervention", "follow_up"):
        table = MODELS[entity].__table__
        rows = plan.rows[entity]
        inserts = [rows[i] for i in plan.new[entity]]
        insert_rows(table, inserts)
        updates = [
            {"b_id": i, **{k: v for k, v in rows[i].items() if k != "id"}}
            for i in plan.dirty[entity] - plan.new[entity]
        ]
        if updates:
            db.session.execute(update(table).where(table.c.id == bindparam("b_id")), updates)
    if plan.matched_clients:
        link_probable_duplicates(team_id, plan.matched_clients.items())
    log_changes(plan.changes)
    write_history(plan.history)
    insert_rows(SyncMutation.__table__, plan.ledger)
    insert_rows(AuditEvent.__table__, event_rows(plan.audit))


# ---------------------------------------------------------------- the service


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
    all_ids: list[uuid.UUID] = []
    for index, raw in enumerate(raw_mutations):
        mutation, rejection, mutation_id = parse_mutation(index, raw, ctx, measure=measure)
        if mutation_id is not None:
            if mutation_id in ids_seen:
                repeats[index] = ids_seen[mutation_id]
                continue
            ids_seen[mutation_id] = index
            all_ids.append(mutation_id)
        if mutation is None:
            results[index] = rejection
        else:
            parsed.append(mutation)
    pool = SeqPool(ctx.team_id)
    if parsed:
        pool.reserve(sum(_seqs_needed(m) for m in parsed))  # takes the team's lock until commit
    ledger = load_ledger(all_ids) if all_ids else {}
    to_apply: list[Mutation] = []
    for index, mutation_id in ((i, m) for m, i in ids_seen.items()):
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
        planner = Planner(ctx, pool)
        plan = planner.plan(to_apply)
        try:
            with db.session.begin_nested():
                write_plan(plan, ctx.team_id)
            for index, result in plan.results.items():
                results[index] = result
        except DB_ERRORS:
            # The database refused the batch: apply each mutation in its own savepoint.
            for m in to_apply:
                single = Planner(ctx, pool).plan([m])
                try:
                    with db.session.begin_nested():
                        write_plan(single, ctx.team_id)
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
        results[index] = _duplicate(earlier) if earlier["status"] != "rejected" else earlier
    return results  # type: ignore[return-value]


def summarise(results: list[dict]) -> dict:
    counts = {"applied": 0, "duplicate": 0, "conflict": 0, "rejected": 0}
    for r in results:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    return counts
