"""per-team sync sequence locks

PostgreSQL: sequence numbers come from the `sync_seq` sequence, and each team's
`sync_team_seq` row is the lock its writers hold until commit and the high-water mark
its pulls read. Pushes of different teams no longer queue on the one `sync_counter`
row. The sequence continues from the counter, and every existing team starts at the
counter's value, so devices' cursors stay valid. SQLite keeps using `sync_counter`.

Revision ID: a5a22f5d0bd7
Revises: b16138f79a25
Create Date: 2026-12-02 03:50:21.794720

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a5a22f5d0bd7'
down_revision = 'b16138f79a25'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('sync_team_seq',
    sa.Column('team_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('high', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['team_id'], ['team.id'], name=op.f('fk_sync_team_seq_team_id_team')),
    sa.PrimaryKeyConstraint('team_id', name=op.f('pk_sync_team_seq'))
    )
    if op.get_bind().dialect.name == 'postgresql':
        # Writers must stop while this runs (it reads the counter once): run it with
        # the web workers stopped, as every migration here.
        op.execute(
            "LOCK TABLE sync_counter IN EXCLUSIVE MODE"
        )
        # The highest number ever handed out: the counter, or anything stamped with one.
        counter = op.get_bind().scalar(
            sa.text(
                "SELECT greatest("
                "(SELECT coalesce(max(value), 0) FROM sync_counter), "
                "(SELECT coalesce(max(seq), 0) FROM sync_change), "
                "(SELECT coalesce(max(server_seq), 0) FROM client), "
                "(SELECT coalesce(max(server_seq), 0) FROM intervention), "
                "(SELECT coalesce(max(server_seq), 0) FROM follow_up))"
            )
        )
        op.execute(f"CREATE SEQUENCE sync_seq START WITH {int(counter) + 1}")
        op.execute(
            f"INSERT INTO sync_team_seq (team_id, high) SELECT id, {int(counter)} FROM team"
        )


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        # Back to the single counter: it must be at least every number handed out.
        op.execute(
            "INSERT INTO sync_counter (id, value) "
            "SELECT 1, greatest((SELECT coalesce(max(high), 0) FROM sync_team_seq), "
            "(SELECT coalesce(max(seq), 0) FROM sync_change)) "
            "ON CONFLICT (id) DO UPDATE SET value = greatest(sync_counter.value, excluded.value)"
        )
        op.execute("DROP SEQUENCE IF EXISTS sync_seq")
    op.drop_table('sync_team_seq')
