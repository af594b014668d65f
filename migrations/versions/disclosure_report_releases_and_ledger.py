"""report releases stored as issued, and the ledger of what each release counted

Commissioners' weekly figures are released once, after the week ends and a grace
period, and stored as issued (`report_release`); records that arrive late for a
released week are counted into a monthly late-records release. `report_counted` holds
each intervention as a release counted it, so nothing is counted twice or missed (see
docs/disclosure.md). Weeks already sent are released when first asked for or due.

Revision ID: d15c105e0001
Revises: c7e1d2a9f4b3
Create Date: 2026-12-06 17:45:00

"""
from alembic import op
import sqlalchemy as sa



# revision identifiers, used by Alembic.
revision = 'd15c105e0001'
down_revision = 'c7e1d2a9f4b3'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'report_release',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=8), nullable=False),
        sa.Column('period', sa.String(length=10), nullable=False),
        sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('grace_days', sa.Integer(), nullable=True),
        sa.Column('first_week', sa.String(length=8), nullable=True),
        sa.Column('last_week', sa.String(length=8), nullable=True),
        sa.Column('late_release_id', sa.Integer(), nullable=True),
        sa.Column('cells', sa.JSON(), nullable=False),
        sa.Column('scopes', sa.JSON(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['late_release_id'], ['report_release.id'],
                                name=op.f('fk_report_release_late_release_id_report_release')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_report_release')),
        sa.UniqueConstraint('kind', 'period', name=op.f('uq_report_release_kind_period')),
    )
    op.create_table(
        'report_counted',
        sa.Column('intervention_id', sa.Uuid(), nullable=False),
        sa.Column('release_id', sa.Integer(), nullable=False),
        sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('area_id', sa.Integer(), nullable=False),
        sa.Column('team_id', sa.Integer(), nullable=False),
        sa.Column('type', sa.String(length=40), nullable=False),
        sa.Column('quantity', sa.Integer(), nullable=True),
        sa.Column('client_id', sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(['release_id'], ['report_release.id'],
                                name=op.f('fk_report_counted_release_id_report_release')),
        sa.PrimaryKeyConstraint('intervention_id', name=op.f('pk_report_counted')),
    )
    with op.batch_alter_table('report_counted', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_report_counted_release_id'), ['release_id'],
                              unique=False)


def downgrade():
    with op.batch_alter_table('report_counted', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_report_counted_release_id'))
    op.drop_table('report_counted')
    op.drop_table('report_release')
