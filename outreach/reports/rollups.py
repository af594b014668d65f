"""Weekly roll-ups of interventions for reports (PostgreSQL).

A report reads up to 12 weeks of every area it covers. Counting those rows each time
(plus a distinct-client sort and a first-contact probe per client) cost 5-8x a bare
GROUP BY over 1,000,000 interventions. Instead a statement-level trigger on
`intervention` keeps three small tables in step, in the writer's own transaction:

* `report_week_count`: live interventions, quantities and anonymous contacts per
  week, area, team and type;
* `report_client_week`: live interventions per week, client and area (a row means
  the client was engaged that week in that area; rows that fall to zero are removed);
* `report_client_first`: each client's first live intervention ever (time, area).

Every write path (sync push, caseload merge, retention, the demo loader, COPY, a
hand-written UPDATE, TRUNCATE) goes through the triggers, so nothing in Python has to
remember them. Weeks are ISO weeks in Europe/London, computed in SQL; a deployment configured
with another TIMEZONE reads interventions directly instead (`usable`). `rebuild()`
recomputes everything (after a restore from a logical dump that skipped triggers,
say); `flask outreach reports rebuild-rollups` runs it. SQLite has no roll-ups.

Concurrency: counts change by atomic increments (INSERT ... ON CONFLICT DO UPDATE),
each statement locking rows in key order. A client's first contact is recomputed only
when a live intervention of theirs gained, lost or changed its time or area, after
locking the client's row, so the recomputation sees every committed intervention.
A client's interventions are written by their team (serialised by its sequence lock);
writers of different teams sharing a client (a client moved team, then both teams
edit its old interventions at once) could in the worst case deadlock: PostgreSQL
aborts one, whose push fails whole and is retried by the phone.
"""

from __future__ import annotations

from sqlalchemy import event, text

from outreach.core.db import on_postgres
from outreach.core.extensions import db

ROLLUP_TIMEZONE = "Europe/London"
WEEK = f"(date_trunc('week', {{rows}}.occurred_at AT TIME ZONE '{ROLLUP_TIMEZONE}'))::date"


def _delta(source: str, sign: int) -> str:
    return (
        f"SELECT {WEEK.format(rows=source)} AS week_start, {source}.area_id, "
        f"{source}.team_id, {source}.type, {source}.quantity, {source}.client_id, "
        f"{sign} AS sign FROM {source} WHERE {source}.deleted_at IS NULL"
    )


def _apply(delta: str) -> str:
    """Add the signed rows of `delta` to the week counts and the client weeks. Row
    locks are taken in key order; increments are atomic, so concurrent writers of the
    same keys (a client's old and new team, say) add up."""
    return f"""
    WITH d AS ({delta}),
    counts AS (
        INSERT INTO report_week_count AS r
            (week_start, area_id, team_id, type, interventions, quantity, anonymous)
        SELECT week_start, area_id, team_id, type, sum(sign),
               sum(sign * coalesce(quantity, 0)),
               coalesce(sum(sign) FILTER (WHERE client_id IS NULL), 0)
        FROM d GROUP BY week_start, area_id, team_id, type
        HAVING sum(sign) <> 0 OR sum(sign * coalesce(quantity, 0)) <> 0
            OR coalesce(sum(sign) FILTER (WHERE client_id IS NULL), 0) <> 0
        ORDER BY week_start, area_id, team_id, type
        ON CONFLICT (week_start, area_id, team_id, type) DO UPDATE SET
            interventions = r.interventions + excluded.interventions,
            quantity = r.quantity + excluded.quantity,
            anonymous = r.anonymous + excluded.anonymous
    )
    INSERT INTO report_client_week AS r (week_start, client_id, area_id, interventions)
    SELECT week_start, client_id, area_id, sum(sign)
    FROM d WHERE client_id IS NOT NULL
    GROUP BY week_start, client_id, area_id HAVING sum(sign) <> 0
    ORDER BY week_start, client_id, area_id
    ON CONFLICT (week_start, client_id, area_id) DO UPDATE SET
        interventions = r.interventions + excluded.interventions
    """


def _prune(delta: str) -> str:
    """Drop the roll-up rows `delta` brought to zero, so reads need no filter (and the
    client-week key answers from the index alone)."""
    return f"""
    WITH d AS ({delta}),
    gone AS (
        DELETE FROM report_week_count r USING (
            SELECT DISTINCT week_start, area_id, team_id, type FROM d
        ) k
        WHERE r.week_start = k.week_start AND r.area_id = k.area_id
          AND r.team_id = k.team_id AND r.type = k.type AND r.interventions = 0
    )
    DELETE FROM report_client_week r USING (
        SELECT DISTINCT week_start, client_id, area_id FROM d WHERE client_id IS NOT NULL
    ) k
    WHERE r.week_start = k.week_start AND r.client_id = k.client_id
      AND r.area_id = k.area_id AND r.interventions = 0
    """


def _live(source: str) -> str:
    return (
        f"SELECT id, client_id, occurred_at, area_id FROM {source} "
        "WHERE deleted_at IS NULL AND client_id IS NOT NULL"
    )


def _first_contacts(touched: str) -> list[str]:
    """Recompute the first contact of the clients in `touched` (a query of client_id),
    in two statements: the first locks their rows (creating missing ones), so the
    second, taking a fresh snapshot once any other writer of those clients committed,
    reads every committed intervention. One statement would read a snapshot from
    before its lock wait and could write back a stale first contact."""
    return [
        f"""
    INSERT INTO report_client_first AS r (client_id)
    SELECT DISTINCT client_id FROM ({touched}) t ORDER BY client_id
    ON CONFLICT (client_id) DO UPDATE SET area_id = r.area_id
    """,
        f"""
    UPDATE report_client_first r SET first_at = f.occurred_at, area_id = f.area_id
    FROM (
        SELECT c.client_id, i.occurred_at, i.area_id
        FROM (SELECT DISTINCT client_id FROM ({touched}) t) c
        LEFT JOIN LATERAL (
            SELECT occurred_at, area_id FROM intervention
            WHERE intervention.client_id = c.client_id AND intervention.deleted_at IS NULL
            ORDER BY occurred_at, id LIMIT 1
        ) i ON true
    ) f
    WHERE r.client_id = f.client_id
      AND (r.first_at, r.area_id) IS DISTINCT FROM (f.occurred_at, f.area_id)
    """,
    ]


_OLD, _NEW = _delta("old_rows", -1), _delta("new_rows", 1)
# Clients whose first contact may have moved: an update that leaves a live row's
# client, time and area alone (a notes scrub, a version bump) touches none.
_MOVED = (
    f"SELECT client_id FROM (({_live('old_rows')}) EXCEPT ({_live('new_rows')})) o "
    f"UNION SELECT client_id FROM (({_live('new_rows')}) EXCEPT ({_live('old_rows')})) n"
)


def _statements(*parts) -> str:
    return ";\n".join(part.strip() for part in parts)


_ON_INSERT = _statements(
    _apply(_NEW), *_first_contacts(f"SELECT client_id FROM ({_live('new_rows')}) n")
)
_ON_DELETE = _statements(
    _apply(_OLD), _prune(_OLD), *_first_contacts(f"SELECT client_id FROM ({_live('old_rows')}) o")
)
_ON_UPDATE = _statements(_apply(f"{_OLD} UNION ALL {_NEW}"), _prune(_OLD), *_first_contacts(_MOVED))

FUNCTION = f"""
CREATE OR REPLACE FUNCTION report_rollup_intervention() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
    IF TG_OP = 'INSERT' THEN
        {_ON_INSERT};
    ELSIF TG_OP = 'DELETE' THEN
        {_ON_DELETE};
    ELSE
        {_ON_UPDATE};
    END IF;
    RETURN NULL;
END
$fn$
"""

# TRUNCATE fires no row or statement trigger of the kinds above: empty the roll-ups too.
TRUNCATE_FUNCTION = """
CREATE OR REPLACE FUNCTION report_rollup_truncate() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
    DELETE FROM report_week_count;
    DELETE FROM report_client_week;
    DELETE FROM report_client_first;
    RETURN NULL;
END
$fn$
"""

TRIGGERS = [
    "CREATE TRIGGER report_rollup_insert AFTER INSERT ON intervention "
    "REFERENCING NEW TABLE AS new_rows "
    "FOR EACH STATEMENT EXECUTE FUNCTION report_rollup_intervention()",
    "CREATE TRIGGER report_rollup_update AFTER UPDATE ON intervention "
    "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows "
    "FOR EACH STATEMENT EXECUTE FUNCTION report_rollup_intervention()",
    "CREATE TRIGGER report_rollup_delete AFTER DELETE ON intervention "
    "REFERENCING OLD TABLE AS old_rows "
    "FOR EACH STATEMENT EXECUTE FUNCTION report_rollup_intervention()",
    "CREATE TRIGGER report_rollup_truncate AFTER TRUNCATE ON intervention "
    "FOR EACH STATEMENT EXECUTE FUNCTION report_rollup_truncate()",
]
DROP_TRIGGERS = [
    f"DROP TRIGGER IF EXISTS {name} ON intervention"
    for name in ("report_rollup_insert", "report_rollup_update", "report_rollup_delete")
] + ["DROP TRIGGER IF EXISTS report_rollup_truncate ON intervention"]
DROP = [
    *DROP_TRIGGERS,
    "DROP FUNCTION IF EXISTS report_rollup_intervention()",
    "DROP FUNCTION IF EXISTS report_rollup_truncate()",
]

REBUILD = [
    # Writers of interventions wait until the roll-ups are whole again; report reads
    # wait for the TRUNCATE below until commit (seconds on a million interventions).
    "LOCK TABLE intervention IN SHARE MODE",
    "TRUNCATE report_week_count, report_client_week, report_client_first",
    # In key order, as weeks arrive in practice: a week's rows sit together on disk.
    f"""INSERT INTO report_week_count
        (week_start, area_id, team_id, type, interventions, quantity, anonymous)
    SELECT {WEEK.format(rows="i")}, i.area_id, i.team_id, i.type, count(*),
           coalesce(sum(i.quantity), 0), count(*) FILTER (WHERE i.client_id IS NULL)
    FROM intervention i WHERE i.deleted_at IS NULL GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4""",
    f"""INSERT INTO report_client_week (week_start, client_id, area_id, interventions)
    SELECT {WEEK.format(rows="i")}, i.client_id, i.area_id, count(*)
    FROM intervention i WHERE i.deleted_at IS NULL AND i.client_id IS NOT NULL
    GROUP BY 1, 2, 3 ORDER BY 1, 2, 3""",
    """INSERT INTO report_client_first (client_id, first_at, area_id)
    SELECT DISTINCT ON (i.client_id) i.client_id, i.occurred_at, i.area_id
    FROM intervention i WHERE i.deleted_at IS NULL AND i.client_id IS NOT NULL
    ORDER BY i.client_id, i.occurred_at, i.id""",
    "ANALYZE report_week_count, report_client_week, report_client_first",
]


def install(connection) -> None:
    """Create the trigger functions and triggers (replacing any)."""
    for statement in [*DROP_TRIGGERS, FUNCTION, TRUNCATE_FUNCTION, *TRIGGERS]:
        connection.exec_driver_sql(statement)


def usable(tz: str) -> bool:
    """Whether reports for `tz` can read the roll-ups (PostgreSQL, same time zone)."""
    return tz == ROLLUP_TIMEZONE and on_postgres()


def rebuild() -> None:
    """Recompute every roll-up from the interventions (PostgreSQL); the caller commits."""
    for statement in REBUILD:
        db.session.execute(text(statement))


def _after_create(metadata, connection, **kw) -> None:
    if connection.dialect.name == "postgresql":
        install(connection)


# `db.create_all()` (tests, benches) installs the triggers too; migrations call install.
event.listen(db.metadata, "after_create", _after_create)
__all__ = ["ROLLUP_TIMEZONE", "install", "rebuild", "usable"]
