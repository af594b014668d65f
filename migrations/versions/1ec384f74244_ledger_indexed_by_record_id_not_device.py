"""ledger indexed by record id, not device

Nothing reads the mutation ledger by device; retention erases an anonymised client's
ledger rows by record id, which scanned the whole ledger once per chunk. On PostgreSQL
the index is built CONCURRENTLY (pushes go on meanwhile).

Revision ID: 1ec384f74244
Revises: b259bef1d643
Create Date: 2026-12-02 08:08:31.968881

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '1ec384f74244'
down_revision = 'b259bef1d643'
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        # The ledger grows by a row per mutation: build without blocking pushes.
        with op.get_context().autocommit_block():
            op.drop_index("ix_sync_mutation_device_id", table_name="sync_mutation",
                          postgresql_concurrently=True, if_exists=True)
            op.create_index("ix_sync_mutation_record_id", "sync_mutation", ["record_id"],
                            postgresql_concurrently=True, if_not_exists=True)
        return
    with op.batch_alter_table('sync_mutation', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sync_mutation_device_id'))
        batch_op.create_index(batch_op.f('ix_sync_mutation_record_id'), ['record_id'], unique=False)



def downgrade():
    with op.batch_alter_table('sync_mutation', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sync_mutation_record_id'))
        batch_op.create_index(batch_op.f('ix_sync_mutation_device_id'), ['device_id'], unique=False)

