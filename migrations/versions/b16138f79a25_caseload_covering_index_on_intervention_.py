"""caseload covering index on intervention client contact facts

The team lead's client summaries (last contact, referral, confirmed treatment entry)
read type and deleted_at per intervention; with them in the index SQLite and
PostgreSQL answer from the index alone (attention list 320 -> 175 ms, 2,000 clients).

Revision ID: b16138f79a25
Revises: bcbab705642b
Create Date: 2026-12-01 21:46:31.495558

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b16138f79a25'
down_revision = 'bcbab705642b'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('intervention', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_intervention_client_occurred'))
        batch_op.create_index('ix_intervention_client_contact', ['client_id', 'occurred_at', 'type', 'deleted_at'], unique=False)



def downgrade():
    with op.batch_alter_table('intervention', schema=None) as batch_op:
        batch_op.drop_index('ix_intervention_client_contact')
        batch_op.create_index(batch_op.f('ix_intervention_client_occurred'), ['client_id', 'occurred_at'], unique=False)

