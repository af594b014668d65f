"""weekly report roll-ups kept by a trigger

PostgreSQL: three small tables (interventions per week/area/team/type, per
week/client/area, and each client's first contact) kept in step with `intervention`
by a statement-level trigger, so a report reads them instead of every intervention of
its 12 weeks (see outreach/reports/rollups.py). The tables are filled from the
interventions already stored. SQLite: the tables exist (one schema) but stay empty;
reports there count the interventions directly.

The SQL is frozen here as it was at this revision; later changes to the trigger come
with their own revision.

Revision ID: b259bef1d643
Revises: a5a22f5d0bd7
Create Date: 2026-12-02 07:42:51.343919

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b259bef1d643'
down_revision = 'a5a22f5d0bd7'
branch_labels = None
depends_on = None

FUNCTION = """
CREATE OR REPLACE FUNCTION report_rollup_intervention() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
    IF TG_OP = 'INSERT' THEN
        WITH d AS (SELECT (date_trunc('week', new_rows.occurred_at AT TIME ZONE 'Europe/London'))::date AS week_start, new_rows.area_id, new_rows.team_id, new_rows.type, new_rows.quantity, new_rows.client_id, 1 AS sign FROM new_rows WHERE new_rows.deleted_at IS NULL),
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
        interventions = r.interventions + excluded.interventions;
INSERT INTO report_client_first AS r (client_id)
    SELECT DISTINCT client_id FROM (SELECT client_id FROM (SELECT id, client_id, occurred_at, area_id FROM new_rows WHERE deleted_at IS NULL AND client_id IS NOT NULL) n) t ORDER BY client_id
    ON CONFLICT (client_id) DO UPDATE SET area_id = r.area_id;
UPDATE report_client_first r SET first_at = f.occurred_at, area_id = f.area_id
    FROM (
        SELECT c.client_id, i.occurred_at, i.area_id
        FROM (SELECT DISTINCT client_id FROM (SELECT client_id FROM (SELECT id, client_id, occurred_at, area_id FROM new_rows WHERE deleted_at IS NULL AND client_id IS NOT NULL) n) t) c
        LEFT JOIN LATERAL (
            SELECT occurred_at, area_id FROM intervention
            WHERE intervention.client_id = c.client_id AND intervention.deleted_at IS NULL
            ORDER BY occurred_at, id LIMIT 1
        ) i ON true
    ) f
    WHERE r.client_id = f.client_id
      AND (r.first_at, r.area_id) IS DISTINCT FROM (f.occurred_at, f.area_id);
    ELSIF TG_OP = 'DELETE' THEN
        WITH d AS (SELECT (date_trunc('week', old_rows.occurred_at AT TIME ZONE 'Europe/London'))::date AS week_start, old_rows.area_id, old_rows.team_id, old_rows.type, old_rows.quantity, old_rows.client_id, -1 AS sign FROM old_rows WHERE old_rows.deleted_at IS NULL),
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
        interventions = r.interventions + excluded.interventions;
WITH d AS (SELECT (date_trunc('week', old_rows.occurred_at AT TIME ZONE 'Europe/London'))::date AS week_start, old_rows.area_id, old_rows.team_id, old_rows.type, old_rows.quantity, old_rows.client_id, -1 AS sign FROM old_rows WHERE old_rows.deleted_at IS NULL),
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
      AND r.area_id = k.area_id AND r.interventions = 0;
INSERT INTO report_client_first AS r (client_id)
    SELECT DISTINCT client_id FROM (SELECT client_id FROM (SELECT id, client_id, occurred_at, area_id FROM old_rows WHERE deleted_at IS NULL AND client_id IS NOT NULL) o) t ORDER BY client_id
    ON CONFLICT (client_id) DO UPDATE SET area_id = r.area_id;
UPDATE report_client_first r SET first_at = f.occurred_at, area_id = f.area_id
    FROM (
        SELECT c.client_id, i.occurred_at, i.area_id
        FROM (SELECT DISTINCT client_id FROM (SELECT client_id FROM (SELECT id, client_id, occurred_at, area_id FROM old_rows WHERE deleted_at IS NULL AND client_id IS NOT NULL) o) t) c
        LEFT JOIN LATERAL (
            SELECT occurred_at, area_id FROM intervention
            WHERE intervention.client_id = c.client_id AND intervention.deleted_at IS NULL
            ORDER BY occurred_at, id LIMIT 1
        ) i ON true
    ) f
    WHERE r.client_id = f.client_id
      AND (r.first_at, r.area_id) IS DISTINCT FROM (f.occurred_at, f.area_id);
    ELSE
        WITH d AS (SELECT (date_trunc('week', old_rows.occurred_at AT TIME ZONE 'Europe/London'))::date AS week_start, old_rows.area_id, old_rows.team_id, old_rows.type, old_rows.quantity, old_rows.client_id, -1 AS sign FROM old_rows WHERE old_rows.deleted_at IS NULL UNION ALL SELECT (date_trunc('week', new_rows.occurred_at AT TIME ZONE 'Europe/London'))::date AS week_start, new_rows.area_id, new_rows.team_id, new_rows.type, new_rows.quantity, new_rows.client_id, 1 AS sign FROM new_rows WHERE new_rows.deleted_at IS NULL),
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
        interventions = r.interventions + excluded.interventions;
WITH d AS (SELECT (date_trunc('week', old_rows.occurred_at AT TIME ZONE 'Europe/London'))::date AS week_start, old_rows.area_id, old_rows.team_id, old_rows.type, old_rows.quantity, old_rows.client_id, -1 AS sign FROM old_rows WHERE old_rows.deleted_at IS NULL),
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
      AND r.area_id = k.area_id AND r.interventions = 0;
INSERT INTO report_client_first AS r (client_id)
    SELECT DISTINCT client_id FROM (SELECT client_id FROM ((SELECT id, client_id, occurred_at, area_id FROM old_rows WHERE deleted_at IS NULL AND client_id IS NOT NULL) EXCEPT (SELECT id, client_id, occurred_at, area_id FROM new_rows WHERE deleted_at IS NULL AND client_id IS NOT NULL)) o UNION SELECT client_id FROM ((SELECT id, client_id, occurred_at, area_id FROM new_rows WHERE deleted_at IS NULL AND client_id IS NOT NULL) EXCEPT (SELECT id, client_id, occurred_at, area_id FROM old_rows WHERE deleted_at IS NULL AND client_id IS NOT NULL)) n) t ORDER BY client_id
    ON CONFLICT (client_id) DO UPDATE SET area_id = r.area_id;
UPDATE report_client_first r SET first_at = f.occurred_at, area_id = f.area_id
    FROM (
        SELECT c.client_id, i.occurred_at, i.area_id
        FROM (SELECT DISTINCT client_id FROM (SELECT client_id FROM ((SELECT id, client_id, occurred_at, area_id FROM old_rows WHERE deleted_at IS NULL AND client_id IS NOT NULL) EXCEPT (SELECT id, client_id, occurred_at, area_id FROM new_rows WHERE deleted_at IS NULL AND client_id IS NOT NULL)) o UNION SELECT client_id FROM ((SELECT id, client_id, occurred_at, area_id FROM new_rows WHERE deleted_at IS NULL AND client_id IS NOT NULL) EXCEPT (SELECT id, client_id, occurred_at, area_id FROM old_rows WHERE deleted_at IS NULL AND client_id IS NOT NULL)) n) t) c
        LEFT JOIN LATERAL (
            SELECT occurred_at, area_id FROM intervention
            WHERE intervention.client_id = c.client_id AND intervention.deleted_at IS NULL
            ORDER BY occurred_at, id LIMIT 1
        ) i ON true
    ) f
    WHERE r.client_id = f.client_id
      AND (r.first_at, r.area_id) IS DISTINCT FROM (f.occurred_at, f.area_id);
    END IF;
    RETURN NULL;
END
$fn$
"""

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
    'CREATE TRIGGER report_rollup_insert AFTER INSERT ON intervention REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION report_rollup_intervention()',
    'CREATE TRIGGER report_rollup_update AFTER UPDATE ON intervention REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION report_rollup_intervention()',
    'CREATE TRIGGER report_rollup_delete AFTER DELETE ON intervention REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION report_rollup_intervention()',
    'CREATE TRIGGER report_rollup_truncate AFTER TRUNCATE ON intervention FOR EACH STATEMENT EXECUTE FUNCTION report_rollup_truncate()',
]

DROP = [
    'DROP TRIGGER IF EXISTS report_rollup_insert ON intervention',
    'DROP TRIGGER IF EXISTS report_rollup_update ON intervention',
    'DROP TRIGGER IF EXISTS report_rollup_delete ON intervention',
    'DROP TRIGGER IF EXISTS report_rollup_truncate ON intervention',
    'DROP FUNCTION IF EXISTS report_rollup_intervention()',
    'DROP FUNCTION IF EXISTS report_rollup_truncate()',
]

REBUILD = [
    """LOCK TABLE intervention IN SHARE MODE""",
    """TRUNCATE report_week_count, report_client_week, report_client_first""",
    """INSERT INTO report_week_count
        (week_start, area_id, team_id, type, interventions, quantity, anonymous)
    SELECT (date_trunc('week', i.occurred_at AT TIME ZONE 'Europe/London'))::date, i.area_id, i.team_id, i.type, count(*),
           coalesce(sum(i.quantity), 0), count(*) FILTER (WHERE i.client_id IS NULL)
    FROM intervention i WHERE i.deleted_at IS NULL GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4""",
    """INSERT INTO report_client_week (week_start, client_id, area_id, interventions)
    SELECT (date_trunc('week', i.occurred_at AT TIME ZONE 'Europe/London'))::date, i.client_id, i.area_id, count(*)
    FROM intervention i WHERE i.deleted_at IS NULL AND i.client_id IS NOT NULL
    GROUP BY 1, 2, 3 ORDER BY 1, 2, 3""",
    """INSERT INTO report_client_first (client_id, first_at, area_id)
    SELECT DISTINCT ON (i.client_id) i.client_id, i.occurred_at, i.area_id
    FROM intervention i WHERE i.deleted_at IS NULL AND i.client_id IS NOT NULL
    ORDER BY i.client_id, i.occurred_at, i.id""",
    """ANALYZE report_week_count, report_client_week, report_client_first""",
]

def upgrade():
    # ### commands auto generated by Alembic - please adjust! ###
    op.create_table('report_client_first',
    sa.Column('client_id', sa.Uuid(), nullable=False),
    sa.Column('first_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('area_id', sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint('client_id', name=op.f('pk_report_client_first'))
    )
    with op.batch_alter_table('report_client_first', schema=None) as batch_op:
        batch_op.create_index('ix_report_client_first_at', ['first_at'], unique=False)

    op.create_table('report_client_week',
    sa.Column('week_start', sa.Date(), nullable=False),
    sa.Column('client_id', sa.Uuid(), nullable=False),
    sa.Column('area_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('interventions', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('week_start', 'client_id', 'area_id', name=op.f('pk_report_client_week'))
    )
    op.create_table('report_week_count',
    sa.Column('week_start', sa.Date(), nullable=False),
    sa.Column('area_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('team_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('type', sa.String(length=40), nullable=False),
    sa.Column('interventions', sa.Integer(), nullable=False),
    sa.Column('quantity', sa.BigInteger(), nullable=False),
    sa.Column('anonymous', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('week_start', 'area_id', 'team_id', 'type', name=op.f('pk_report_week_count'))
    )
    # ### end Alembic commands ###
    if op.get_bind().dialect.name == "postgresql":
        for statement in [FUNCTION, TRUNCATE_FUNCTION, *TRIGGERS, *REBUILD]:
            op.execute(statement)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for statement in DROP:
            op.execute(statement)
    # ### commands auto generated by Alembic - please adjust! ###
    op.drop_table('report_week_count')
    op.drop_table('report_client_week')
    with op.batch_alter_table('report_client_first', schema=None) as batch_op:
        batch_op.drop_index('ix_report_client_first_at')

    op.drop_table('report_client_first')
    # ### end Alembic commands ###
