"""pathway ledger: each pathway step as a release counted it (report_counted_step)

Pathway figures (referrals, episodes) are tallied from a ledger like interventions,
so late or withdrawn pathway records are counted once in the monthly late-records
release, and a referral cohort's base is exactly the referrals its week's release
counted (docs/disclosure.md). `report_release.steps_counted` tells releases made with
the ledger from those made before it. Weekly releases made before it lose their
cohort cells (`cohort_*`): published at W+3, W+6 and W+12 and recounted each time,
they could be differenced to reveal a count of 1-4; those weeks publish no cohort.

Revision ID: cohort_0001
Revises: shared_0001
Create Date: 2026-12-06 21:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'cohort_0001'
down_revision = 'shared_0001'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('report_release', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('steps_counted', sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    op.create_table(
        'report_counted_step',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('release_id', sa.Integer(), nullable=False),
        sa.Column('measure', sa.String(length=40), nullable=False),
        sa.Column('record_id', sa.Uuid(), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('area_id', sa.Integer(), nullable=False),
        sa.Column('client_id', sa.Uuid(), nullable=True),
        sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('withdrawn_by', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['release_id'], ['report_release.id'],
                                name=op.f('fk_report_counted_step_release_id_report_release')),
        sa.ForeignKeyConstraint(['withdrawn_by'], ['report_release.id'],
                                name=op.f('fk_report_counted_step_withdrawn_by_report_release')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_report_counted_step')),
    )
    with op.batch_alter_table('report_counted_step', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_report_counted_step_release_id'), ['release_id'],
                              unique=False)
        batch_op.create_index('ix_report_counted_step_record', ['record_id', 'measure'],
                              unique=False)
    # The cohorts of releases made before the ledger: withdrawn (they could be differenced).
    release = sa.table(
        'report_release', sa.column('id', sa.Integer()), sa.column('cells', sa.JSON())
    )
    conn = op.get_bind()
    for release_id, cells in conn.execute(sa.select(release.c.id, release.c.cells)).all():
        kept = {k: v for k, v in (cells or {}).items() if '/cohort_' not in k}
        if kept != (cells or {}):
            conn.execute(
                release.update().where(release.c.id == release_id).values(cells=kept)
            )


def downgrade():
    with op.batch_alter_table('report_counted_step', schema=None) as batch_op:
        batch_op.drop_index('ix_report_counted_step_record')
        batch_op.drop_index(batch_op.f('ix_report_counted_step_release_id'))
    op.drop_table('report_counted_step')
    with op.batch_alter_table('report_release', schema=None) as batch_op:
        batch_op.drop_column('steps_counted')
