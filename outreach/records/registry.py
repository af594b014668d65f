"""The synced record types (DESIGN §8): one specification each, and the one way to read
and serialise them.

The slice that owns a synced entity registers its `EntitySpec` here (people: `client`;
interventions: `intervention`, `follow_up`; ...). Everything else comes from the spec:
the checks of a phone's values (`normalise`), the columns they become (`columns`), the
record as the phone stores it (`serialize`: what pull sends, what a conflict carries,
what history keeps), the rows a team's phones hold (`in_scope`), and the field lists the
PWA loads (`phone_spec`). The unit of work (`outreach.records.unit`) and the sync engine
work on any registered entity; slice rules that reach across records (an intervention's
follow-up, a client's probable duplicates) are hooks registered with `on`.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, ColumnElement, Date, DateTime, Select, Uuid, select
from sqlalchemy.sql import ColumnCollection

from outreach.core.db import in_batch, on_postgres
from outreach.core.extensions import db
from outreach.records.fields import Invalid, getter
from outreach.records.shares import held_by

if TYPE_CHECKING:
    from outreach.records.unit import UnitOfWork

CHUNK = 500
# Server fields every record's data carries after the phone's own fields.
SERVER_TAIL = ("version", "server_seq", "created_at", "updated_at", "deleted_at")


@dataclass(frozen=True)
class Checking:
    """What field checks compare against: the server's time and the clock skew allowed."""

    now: datetime
    skew: timedelta

    @property
    def today(self) -> date:
        return self.now.date()


@dataclass(frozen=True)
class Field:
    """One field a phone sends: its name (DESIGN §8), its check, its column."""

    name: str
    check: Callable[[Any, Checking], Any]
    required: bool = False
    column: str | None = None  # when the column is named otherwise

    @property
    def column_name(self) -> str:
        return self.column or self.name


@dataclass(frozen=True)
class Pusher:
    """Who writes through a push: a permission check's view of the signed-in user."""

    user_id: int
    lead: bool  # a team lead: may do what the caseload's audited actions do


@dataclass
class Permission:
    """What a slice's permission rule says of one write through push: errors by field
    (the mutation is rejected), else the audit of a change a lead's action would audit
    (its action and detail, kept in history's view as that action)."""

    errors: dict[str, list[str]] = field(default_factory=dict)
    # Fields the rule kept at the stored value because the phone sent none (a phone
    # that never had it): not a conflict to report, the next pull brings the value.
    kept: tuple[str, ...] = ()
    audit_action: str | None = None
    audit_detail: dict[str, Any] | None = None


def anyone_may(
    pusher: Pusher, current: Mapping[str, Any] | None, values: dict[str, Any]
) -> Permission:
    """No field-level rule: whoever may push may write every field."""
    return Permission()


def always_live(columns: ColumnCollection, since: datetime) -> ColumnElement[bool] | None:
    """No condition beyond the team and deletion."""
    return None


def always_live_row(row: Mapping[str, Any], since: datetime) -> bool:
    return True


@dataclass(frozen=True)
class EntitySpec:
    """A synced entity: what phones send, what is stored, what phones hold."""

    name: str
    model: Any
    fields: tuple[Field, ...]
    # Columns the phone's copy carries after its own fields, in order (besides `id`).
    server_fields: tuple[str, ...]
    # Record-level rules on a complete record (canonical values): errors by field.
    check_record: Callable[[Mapping[str, Any]], dict[str, list[str]]]
    # Rows a team's phones hold, besides "of the team, not deleted": SQL and Python.
    live: Callable[[ColumnCollection, datetime], ColumnElement[bool] | None] = always_live
    is_live: Callable[[Mapping[str, Any], datetime], bool] = always_live_row
    live_columns: tuple[str, ...] = ()  # the columns `is_live` reads
    # Fields naming another record or a team member: field -> entity name or "member".
    references: Mapping[str, str] = field(default_factory=dict)
    # Whether creating a record writes version 1 to history (see `outreach.records.unit`).
    history_on_create: bool = True
    # In a stale edit, fields both sides changed go to the server, unless this field
    # (a time) is later on the phone's side (interventions: the later contact wins).
    later_wins: str | None = None
    # Columns derived from others on every write (a client's match key).
    derive: Callable[[dict[str, Any]], None] | None = None
    # The live record a reference to `id` means for `team_id` (a merged client: its
    # survivor), or None. Default: the record itself, if of the team and not deleted.
    resolve: Callable[[UnitOfWork, uuid.UUID, int], uuid.UUID | None] | None = None
    # Who may write which fields through push (a worker may not do a lead's action):
    # (pusher, the stored record's phone values or None on create, the values about to
    # be stored: the rule may fill a default in them) -> Permission.
    permit: Callable[[Pusher, Mapping[str, Any] | None, dict[str, Any]], Permission] = anyone_may
    # Whether other teams may hold a record too (`outreach.records.shares`): pull brings
    # them the records shared with them, pushes of theirs may name (and, where the
    # entity's "check" hooks allow, change) them.
    shareable: bool = False

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields if f.required)

    @functools.cached_property
    def wire(self) -> tuple[tuple[str, str], ...]:
        """(JSON name, column) of the phone's copy, in order: id, fields, server fields."""
        return (
            ("id", "id"),
            *((f.name, f.column_name) for f in self.fields),
            *((name, name) for name in self.server_fields),
        )

    @functools.cached_property
    def columns_list(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.model.__table__.columns)

    @functools.cached_property
    def _to_json(self) -> tuple[tuple[str, str, Callable[[Any], Any]], ...]:
        table = self.model.__table__
        return tuple((name, col, _json_of(table.c[col].type)) for name, col in self.wire)

    @functools.cached_property
    def _to_column(self) -> tuple[tuple[str, str, Callable[[Any], Any]], ...]:
        table = self.model.__table__
        return tuple(
            (f.name, f.column_name, _column_of(table.c[f.column_name].type)) for f in self.fields
        )

    def data(self, row: Any) -> dict[str, Any]:
        """The record as the phone stores it (JSON-safe)."""
        get = getter(row)
        return {name: convert(get(col)) for name, col, convert in self._to_json}

    def columns(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """Canonical phone values to column values."""
        return {col: convert(values.get(name)) for name, col, convert in self._to_column}

    def normalise(
        self, data: Mapping[str, Any], checking: Checking
    ) -> tuple[dict[str, Any], dict[str, list[str]]]:
        """Check the fields present in `data`: (canonical values, errors by field)."""
        values: dict[str, Any] = {}
        errors: dict[str, list[str]] = {}
        for f in self.fields:
            if f.name not in data:
                continue
            try:
                values[f.name] = f.check(data[f.name], checking)
            except Invalid as exc:
                errors.setdefault(f.name, []).append(str(exc))
        return values, errors

    def check(self, values: Mapping[str, Any]) -> dict[str, list[str]]:
        """Required fields, then the entity's record-level rules."""
        errors: dict[str, list[str]] = {
            name: ["This field is required."] for name in self.required if values.get(name) is None
        }
        for name, messages in self.check_record(values).items():
            errors.setdefault(name, []).extend(m for m in messages if m not in errors[name])
        return errors


def _json_of(column_type: Any) -> Callable[[Any], Any]:
    if isinstance(column_type, Uuid):
        return lambda v: str(v) if v is not None else None
    if isinstance(column_type, Date | DateTime) or isinstance(
        getattr(column_type, "impl", None), DateTime
    ):
        return lambda v: v.isoformat() if v is not None else None
    if isinstance(column_type, JSON):
        return lambda v: list(v or [])
    return lambda v: v


def _column_of(column_type: Any) -> Callable[[Any], Any]:
    if isinstance(column_type, Uuid):
        return lambda v: uuid.UUID(v) if v else None
    if isinstance(column_type, DateTime) or isinstance(
        getattr(column_type, "impl", None), DateTime
    ):
        return lambda v: datetime.fromisoformat(v) if v else None
    if isinstance(column_type, Date):
        return lambda v: date.fromisoformat(v) if v else None
    if isinstance(column_type, JSON):
        return lambda v: list(v or [])
    return lambda v: v


ENTITIES: dict[str, EntitySpec] = {}
_HOOKS: dict[tuple[str, str], list[Callable[..., Any]]] = {}
EVENTS = ("prefetch", "check", "written", "deleted", "flushed")


def register(spec: EntitySpec) -> EntitySpec:
    """Make `spec` a synced entity (the owning slice calls this on import)."""
    ENTITIES[spec.name] = spec
    return spec


def on(event: str, entity: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a hook of a slice rule (see `outreach.records.unit` for when each runs)."""
    if event not in EVENTS:
        raise ValueError(f"unknown event {event!r}")

    def decorator(fn: Callable[..., Any]) -> Callable[..., Any]:
        handlers = _HOOKS.setdefault((event, entity), [])
        if fn not in handlers:
            handlers.append(fn)
        return fn

    return decorator


def hooks(event: str, entity: str) -> list[Callable[..., Any]]:
    return _HOOKS.get((event, entity), [])


def write_order() -> list[EntitySpec]:
    """The entities in the order their rows can be inserted: a table after the tables
    its foreign keys name (clients before interventions before follow-ups)."""
    tables = db.metadata.sorted_tables
    return sorted(ENTITIES.values(), key=lambda spec: tables.index(spec.model.__table__))


def serialize(entity: str, row: Any) -> dict[str, Any]:
    """A record as the phone stores it: DESIGN §8 field names plus `version`,
    `server_seq` and server fields. `row` may be a model instance, a Core row or a dict
    of columns."""
    return ENTITIES[entity].data(row)


def in_scope(entity: str, row: Any, team_id: int, since: datetime, shared: bool = False) -> bool:
    """Is this record something a device of `team_id` holds? (DESIGN §4: the team's live
    records; interventions of the last N days; `shared`: the record is shared with the
    team, DESIGN §5b.)"""
    get = getter(row)
    if (get("team_id") != team_id and not shared) or get("deleted_at") is not None:
        return False
    spec = ENTITIES[entity]
    return spec.is_live({name: get(name) for name in spec.live_columns}, since)


def team_rows(entity: str, team_id: int, since: datetime) -> Select[Any]:
    """The rows of `entity` a device of `team_id` holds, as a SELECT of the table."""
    spec = ENTITIES[entity]
    table = spec.model.__table__
    mine: ColumnElement[bool] = table.c.team_id == team_id
    if spec.shareable:
        mine = held_by(table.c.id, table.c.team_id, entity, team_id)
    stmt = select(table).where(mine, table.c.deleted_at.is_(None))
    condition = ENTITIES[entity].live(table.c, since)
    return stmt if condition is None else stmt.where(condition)


def intervention_window(now: datetime, days: int) -> datetime:
    """The oldest `occurred_at` a device holds."""
    return now - timedelta(days=days)


@functools.cache
def _rows_by_id(entity: str, postgres: bool) -> Select[Any]:
    table = ENTITIES[entity].model.__table__
    return select(table).where(in_batch(table.c.id, postgres))


def load_rows(entity: str, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, dict[str, Any]]:
    """Current rows (all columns, as dicts) of the given ids: one query per 500 ids."""
    wanted = list(dict.fromkeys(ids))
    out: dict[uuid.UUID, dict[str, Any]] = {}
    if not wanted:
        return out
    statement = _rows_by_id(entity, on_postgres())
    connection = db.session.connection()
    for start in range(0, len(wanted), CHUNK):
        for row in connection.execute(statement, {"ids": wanted[start : start + CHUNK]}):
            mapping = dict(row._mapping)
            out[mapping["id"]] = mapping
    return out


def phone_spec() -> dict[str, Any]:
    """Each entity's phone fields and required fields, for the PWA (spec.js)."""
    return {
        name: {"fields": list(spec.field_names), "required": list(spec.required)}
        for name, spec in ENTITIES.items()
    }
