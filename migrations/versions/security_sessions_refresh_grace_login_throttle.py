"""sessions end with the user's epoch; refresh tokens know their successor; sign-in
throttle per account and address

* user_account.session_epoch: tokens carry it; raising it (password reset, deactivation,
  role or team change) ends every session of the user at once.
* token_record.successor_jti: a lost refresh answer retried within the grace window
  gets the same family instead of a revocation.
* login_throttle: failed sign-ins per (account, address) digest, with their back-off.
* audit_event.address: the client's address of events made by a request.

Revision ID: security_0001
Revises: 1ec384f74244
Create Date: 2026-12-06 17:45:00

"""
from alembic import op
import sqlalchemy as sa



# revision identifiers, used by Alembic.
revision = 'security_0001'
down_revision = '1ec384f74244'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.add_column(sa.Column('address', sa.String(length=45), nullable=True))
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('session_epoch', sa.Integer(), server_default='0', nullable=False))
    with op.batch_alter_table('token_record', schema=None) as batch_op:
        batch_op.add_column(sa.Column('successor_jti', sa.String(length=64), nullable=True))
    op.create_table(
        'login_throttle',
        sa.Column('key', sa.String(length=64), nullable=False),
        sa.Column('failures', sa.Integer(), nullable=False),
        sa.Column('last_failure_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('blocked_until', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('key', name=op.f('pk_login_throttle')),
    )
    with op.batch_alter_table('login_throttle', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_login_throttle_last_failure_at'), ['last_failure_at'], unique=False)


def downgrade():
    with op.batch_alter_table('login_throttle', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_login_throttle_last_failure_at'))
    op.drop_table('login_throttle')
    with op.batch_alter_table('token_record', schema=None) as batch_op:
        batch_op.drop_column('successor_jti')
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.drop_column('session_epoch')
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.drop_column('address')
