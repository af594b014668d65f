"""Sync services called by the routes: push and pull for a signed-in actor."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from outreach.access.guard import Actor
from outreach.access.models import Device
from outreach.access.scope import team_area_of
from outreach.audit.service import record_events
from outreach.core.extensions import db
from outreach.core.metrics import SYNC_MUTATIONS, SYNC_PULLED
from outreach.core.types import utcnow
from outreach.sync.pull import PullContext, pull_changes
from outreach.sync.push import PushContext, push_mutations, summarise

# A device's last sync is shown to team leads to the minute: a phone syncing in a burst
# (pushes, then pull pages) writes it once, not once a request.
SYNC_TIME_RESOLUTION = timedelta(minutes=1)


def note_sync(actor: Actor, now) -> None:
    """Record the device's last sync unless it was recorded in the last minute.
    (Core statement: the ORM's flush costs more than the push's own rows.)"""
    last = actor.last_sync_at
    if last is not None and timedelta(0) <= now - last <= SYNC_TIME_RESOLUTION:
        return
    db.session.execute(
        update(Device).where(Device.id == actor.device_id).values(last_sync_at=now),
        execution_options={"synchronize_session": False},
    )


def push(
    actor: Actor,
    mutations: list,
    *,
    skew: timedelta,
    max_mutation_bytes: int,
    body_bytes: int = 0,
) -> list[dict]:
    """Apply a push for `actor` in one transaction and commit; return the results."""
    team_id, area_id = team_area_of(actor)
    now = utcnow()
    ctx = PushContext(
        user_id=actor.id,
        team_id=team_id,
        area_id=area_id,
        device_id=actor.device_id,
        now=now,
        skew=skew,
        max_mutation_bytes=max_mutation_bytes,
        lead=actor.role == "team_lead",
    )
    # Lock order device row, then the team's sequence row, for every push: write the
    # device's last sync now, before push_mutations takes the sequence lock.
    note_sync(actor, now)
    # A body smaller than the per-mutation limit cannot hold an oversized mutation.
    measure = not body_bytes or body_bytes > max_mutation_bytes
    results = push_mutations(ctx, mutations, measure=measure)
    counts = summarise(results)
    record_events(
        [
            {
                "action": "sync.push",
                "actor_id": actor.id,
                "device_id": actor.device_id,
                "detail": {"mutations": len(mutations), **counts},
            }
        ]
    )
    db.session.commit()
    for status, count in counts.items():
        if count:
            SYNC_MUTATIONS.labels(status).inc(count)
    return results


def pull(actor: Actor, cursor: str | None, limit: int, *, window_days: int) -> dict:
    """One page of changes for `actor`'s team; records the device's last sync."""
    team_id, _area_id = team_area_of(actor)
    now = utcnow()
    ctx = PullContext(
        user_id=actor.id,
        team_id=team_id,
        device_id=actor.device_id,
        now=now,
        window_days=window_days,
    )
    body = pull_changes(ctx, cursor, limit)
    note_sync(actor, now)
    db.session.commit()
    SYNC_PULLED.inc(len(body["changes"]))
    return body
