"""record_share.key_worker_id: the receiving team's key worker for a shared client

A client another team shared with this one (an accepted referral) is in this team's
caseload; its lead assigns it a key worker of this team, kept on the team's share of
the client (the client's own `key_worker_id` stays its own team's). A nullable column
only: no existing row changes.

Revision ID: shared_0001
Revises: pathways_0001
Create Date: 2026-12-06 20:45:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'shared_0001'
down_revision = 'pathways_0001'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('record_share', schema=None) as batch_op:
        batch_op.add_column(sa.Column('key_worker_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f('fk_record_share_key_worker_id_user_account'),
            'user_account', ['key_worker_id'], ['id'],
        )


def downgrade():
    with op.batch_alter_table('record_share', schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f('fk_record_share_key_worker_id_user_account'), type_='foreignkey'
        )
        batch_op.drop_column('key_worker_id')
