"""Bookkeeping of every synced record: the sequence its changes are numbered from, the
change log phones pull, the history of every version, and the ledger of the mutations
phones pushed (DESIGN §2, §4)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, Sequence, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from outreach.core.db import BigIntPK
from outreach.core.extensions import Model, db
from outreach.core.types import UTCDateTime, utcnow


class SyncCounter(Model):
    """SQLite (and the counter's history on PostgreSQL): one row holding the last
    allocated server_seq. Allocating takes this row's lock until commit, so sequence
    numbers become visible in order (DESIGN §4: a lower seq never appears after a pull
    passed it). SQLite serialises writers anyway, so one row costs nothing there.
    """

    __tablename__ = "sync_counter"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, default=0)


# PostgreSQL: where sequence numbers come from (nextval takes no lock). Ordering is kept
# per team by SyncTeamSeq's row locks. SQLite has no sequences: it uses SyncCounter.
SYNC_SEQ = Sequence("sync_seq", metadata=db.metadata)


class SyncTeamSeq(Model):
    """PostgreSQL: per team, the highest sequence number whose changes are committed.

    A writer locks its teams' rows (in team id order) before taking numbers from
    `sync_seq` and raises `high` to the last one; the lock lasts until commit. A team's
    pulls read the committed `high` and never pass it, so a change never becomes
    visible below a cursor a device already holds, while pushes of different teams
    no longer wait for each other (one global counter row serialised them all).
    """

    __tablename__ = "sync_team_seq"

    team_id: Mapped[int] = mapped_column(
        ForeignKey("team.id"), primary_key=True, autoincrement=False
    )
    high: Mapped[int] = mapped_column(BigInteger, default=0)


class SyncChange(Model):
    """A record changed for a team's devices at server_seq `seq` (upsert or remove)."""

    __tablename__ = "sync_change"
    __table_args__ = (Index("ix_sync_change_team_seq", "team_id", "seq"),)

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    team_id: Mapped[int] = mapped_column(ForeignKey("team.id"))
    entity: Mapped[str] = mapped_column(String(20))
    record_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    op: Mapped[str] = mapped_column(String(10))


class RecordVersion(Model):
    """Every version of every synced record, plus values that lost a conflict."""

    __tablename__ = "record_version"
    __table_args__ = (Index("ix_record_version_record", "entity", "record_id", "version"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    entity: Mapped[str] = mapped_column(String(20))
    record_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    version: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(20))  # create, edit, conflict, delete, ...
    data: Mapped[dict] = mapped_column(JSON)
    losing: Mapped[dict | None] = mapped_column(JSON)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    device_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SyncMutation(Model):
    """Ledger of applied mutations: a replay returns the stored result."""

    __tablename__ = "sync_mutation"

    mutation_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    device_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    entity: Mapped[str] = mapped_column(String(20))
    # Retention erases a client's ledger rows (a conflict's stored result holds the
    # merged record) by record id: without this, a scan of the whole ledger per chunk.
    record_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    result: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RecordShare(Model):
    """A record another team's phones hold too (DESIGN §5b): a client referred to a
    partner team, the referral itself. Granted by the slice that shares (pathways, with
    consent and an agreement in force); `frozen_at`: the team keeps what it holds but
    gets no newer version (consent withdrawn); `ended_at`: the team's phones drop it.
    `key_worker_id`: the holding team's key worker for a shared client (a member of that
    team, set by its lead; the client's own `key_worker_id` is its own team's)."""

    __tablename__ = "record_share"

    entity: Mapped[str] = mapped_column(String(20), primary_key=True)
    record_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("team.id"), primary_key=True, index=True)
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    frozen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    key_worker_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
