"""pathways: partnerships, record shares, consent on client, referrals, diversion episodes, links across teams

Partnerships (data-sharing agreements between teams), `record_share` (a record another
team's phones hold too), the client's consent to share (when, by whom), the synced
`referral` and `episode` tables with an index per step time for the weekly measures, and
`client_link` (one person recorded by two partner teams, confirmed by a lead)
(DESIGN §5b). New tables and nullable columns only: no existing row changes.

Revision ID: pathways_0001
Revises: d15c105e0001
Create Date: 2026-12-06 18:28:48.671309

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'pathways_0001'
down_revision = 'd15c105e0001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('partnership',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('agreement_ref', sa.String(length=120), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('ends_on IS NULL OR ends_on >= starts_on', name=op.f('ck_partnership_ends_after_start')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_partnership')),
    sa.UniqueConstraint('agreement_ref', name=op.f('uq_partnership_agreement_ref'))
    )
    op.create_table('partnership_team',
    sa.Column('partnership_id', sa.Integer(), nullable=False),
    sa.Column('team_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['partnership_id'], ['partnership.id'], name=op.f('fk_partnership_team_partnership_id_partnership'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['team_id'], ['team.id'], name=op.f('fk_partnership_team_team_id_team')),
    sa.PrimaryKeyConstraint('partnership_id', 'team_id', name=op.f('pk_partnership_team'))
    )
    with op.batch_alter_table('partnership_team', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_partnership_team_team_id'), ['team_id'], unique=False)

    op.create_table('record_share',
    sa.Column('entity', sa.String(length=20), nullable=False),
    sa.Column('record_id', sa.Uuid(), nullable=False),
    sa.Column('team_id', sa.Integer(), nullable=False),
    sa.Column('granted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('frozen_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['team_id'], ['team.id'], name=op.f('fk_record_share_team_id_team')),
    sa.PrimaryKeyConstraint('entity', 'record_id', 'team_id', name=op.f('pk_record_share'))
    )
    with op.batch_alter_table('record_share', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_record_share_team_id'), ['team_id'], unique=False)

    op.create_table('client_link',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.Uuid(), nullable=False),
    sa.Column('other_client_id', sa.Uuid(), nullable=False),
    sa.Column('resolution', sa.String(length=20), nullable=False),
    sa.Column('team_id', sa.Integer(), nullable=False),
    sa.Column('confirmed_by_id', sa.Integer(), nullable=False),
    sa.Column('confirmed_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("resolution IN ('linked', 'not_duplicate')", name=op.f('ck_client_link_resolution_known')),
    sa.CheckConstraint('client_id < other_client_id', name=op.f('ck_client_link_ordered_pair')),
    sa.ForeignKeyConstraint(['client_id'], ['client.id'], name=op.f('fk_client_link_client_id_client')),
    sa.ForeignKeyConstraint(['confirmed_by_id'], ['user_account.id'], name=op.f('fk_client_link_confirmed_by_id_user_account')),
    sa.ForeignKeyConstraint(['other_client_id'], ['client.id'], name=op.f('fk_client_link_other_client_id_client')),
    sa.ForeignKeyConstraint(['team_id'], ['team.id'], name=op.f('fk_client_link_team_id_team')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_client_link')),
    sa.UniqueConstraint('client_id', 'other_client_id', name=op.f('uq_client_link_client_id_other_client_id'))
    )
    with op.batch_alter_table('client_link', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_client_link_client_id'), ['client_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_client_link_other_client_id'), ['other_client_id'], unique=False)

    op.create_table('episode',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('client_id', sa.Uuid(), nullable=False),
    sa.Column('team_id', sa.Integer(), nullable=False),
    sa.Column('area_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('started_on', sa.Date(), nullable=False),
    sa.Column('planned_end_on', sa.Date(), nullable=False),
    sa.Column('conditions', sa.JSON(), nullable=False),
    sa.Column('navigator_id', sa.Integer(), nullable=True),
    sa.Column('next_session_on', sa.Date(), nullable=True),
    sa.Column('sessions', sa.JSON(), nullable=False),
    sa.Column('outcome', sa.String(length=20), nullable=True),
    sa.Column('ended_on', sa.Date(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('server_seq', sa.BigInteger(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('deleted_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("outcome IS NULL OR outcome IN ('completed', 'not_completed', 'withdrawn')", name=op.f('ck_episode_outcome_known')),
    sa.CheckConstraint('version >= 1', name=op.f('ck_episode_version_positive')),
    sa.ForeignKeyConstraint(['area_id'], ['area.id'], name=op.f('fk_episode_area_id_area')),
    sa.ForeignKeyConstraint(['client_id'], ['client.id'], name=op.f('fk_episode_client_id_client')),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], name=op.f('fk_episode_created_by_id_user_account')),
    sa.ForeignKeyConstraint(['navigator_id'], ['user_account.id'], name=op.f('fk_episode_navigator_id_user_account')),
    sa.ForeignKeyConstraint(['team_id'], ['team.id'], name=op.f('fk_episode_team_id_team')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_episode'))
    )
    with op.batch_alter_table('episode', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_episode_client_id'), ['client_id'], unique=False)
        batch_op.create_index('ix_episode_ended', ['ended_on'], unique=False)
        batch_op.create_index('ix_episode_started', ['started_on', 'area_id'], unique=False)
        batch_op.create_index('ix_episode_team_end', ['team_id', 'planned_end_on'], unique=False)

    op.create_table('referral',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('client_id', sa.Uuid(), nullable=False),
    sa.Column('team_id', sa.Integer(), nullable=False),
    sa.Column('area_id', sa.Integer(), nullable=False),
    sa.Column('to_team_id', sa.Integer(), nullable=False),
    sa.Column('partnership_id', sa.Integer(), nullable=True),
    sa.Column('reason', sa.String(length=30), nullable=False),
    sa.Column('urgency', sa.String(length=20), nullable=False),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('status_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('closed_reason', sa.String(length=30), nullable=True),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('accepted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('declined_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('first_contact_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('treatment_entry_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('responded_by_id', sa.Integer(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('server_seq', sa.BigInteger(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('deleted_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('sent', 'accepted', 'declined', 'first_contact', 'treatment_entry', 'closed')", name=op.f('ck_referral_status_known')),
    sa.CheckConstraint('team_id <> to_team_id', name=op.f('ck_referral_to_another_team')),
    sa.CheckConstraint('version >= 1', name=op.f('ck_referral_version_positive')),
    sa.ForeignKeyConstraint(['area_id'], ['area.id'], name=op.f('fk_referral_area_id_area')),
    sa.ForeignKeyConstraint(['client_id'], ['client.id'], name=op.f('fk_referral_client_id_client')),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], name=op.f('fk_referral_created_by_id_user_account')),
    sa.ForeignKeyConstraint(['partnership_id'], ['partnership.id'], name=op.f('fk_referral_partnership_id_partnership')),
    sa.ForeignKeyConstraint(['responded_by_id'], ['user_account.id'], name=op.f('fk_referral_responded_by_id_user_account')),
    sa.ForeignKeyConstraint(['team_id'], ['team.id'], name=op.f('fk_referral_team_id_team')),
    sa.ForeignKeyConstraint(['to_team_id'], ['team.id'], name=op.f('fk_referral_to_team_id_team')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_referral'))
    )
    with op.batch_alter_table('referral', schema=None) as batch_op:
        batch_op.create_index('ix_referral_accepted', ['accepted_at'], unique=False)
        batch_op.create_index('ix_referral_client', ['client_id'], unique=False)
        batch_op.create_index('ix_referral_first_contact', ['first_contact_at'], unique=False)
        batch_op.create_index('ix_referral_sent', ['sent_at', 'area_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_referral_team_id'), ['team_id'], unique=False)
        batch_op.create_index('ix_referral_to_team_status', ['to_team_id', 'status'], unique=False)
        batch_op.create_index('ix_referral_treatment_entry', ['treatment_entry_at'], unique=False)

    with op.batch_alter_table('client', schema=None) as batch_op:
        batch_op.add_column(sa.Column('consent_to_share', sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column('consent_recorded_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('consent_recorded_by_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_client_consent_recorded_by_id_user_account'), 'user_account', ['consent_recorded_by_id'], ['id'])



def downgrade():
    with op.batch_alter_table('client', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_client_consent_recorded_by_id_user_account'), type_='foreignkey')
        batch_op.drop_column('consent_recorded_by_id')
        batch_op.drop_column('consent_recorded_at')
        batch_op.drop_column('consent_to_share')

    with op.batch_alter_table('referral', schema=None) as batch_op:
        batch_op.drop_index('ix_referral_treatment_entry')
        batch_op.drop_index('ix_referral_to_team_status')
        batch_op.drop_index(batch_op.f('ix_referral_team_id'))
        batch_op.drop_index('ix_referral_sent')
        batch_op.drop_index('ix_referral_first_contact')
        batch_op.drop_index('ix_referral_client')
        batch_op.drop_index('ix_referral_accepted')

    op.drop_table('referral')
    with op.batch_alter_table('episode', schema=None) as batch_op:
        batch_op.drop_index('ix_episode_team_end')
        batch_op.drop_index('ix_episode_started')
        batch_op.drop_index('ix_episode_ended')
        batch_op.drop_index(batch_op.f('ix_episode_client_id'))

    op.drop_table('episode')
    with op.batch_alter_table('client_link', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_client_link_other_client_id'))
        batch_op.drop_index(batch_op.f('ix_client_link_client_id'))

    op.drop_table('client_link')
    with op.batch_alter_table('record_share', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_record_share_team_id'))

    op.drop_table('record_share')
    with op.batch_alter_table('partnership_team', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_partnership_team_team_id'))

    op.drop_table('partnership_team')
    op.drop_table('partnership')
