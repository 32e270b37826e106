"""chat: who added a subscription, platform pauses, workspaces greeted

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02
"""

from alembic import op
import sqlalchemy as sa


revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("subscriptions") as batch:
        batch.add_column(sa.Column("added_by", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("added_by_name", sa.String(length=128), nullable=True))
    op.create_table(
        "platform_state",
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("paused_reason", sa.Text(), nullable=True),
        sa.Column("paused_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("retry_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_ok", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("platform", name=op.f("pk_platform_state")),
    )
    op.create_table(
        "workspaces",
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("workspace", sa.String(length=64), nullable=False),
        sa.Column("first_used", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("platform", "workspace", name=op.f("pk_workspaces")),
    )


def downgrade() -> None:
    op.drop_table("workspaces")
    op.drop_table("platform_state")
    with op.batch_alter_table("subscriptions") as batch:
        batch.drop_column("added_by_name")
        batch.drop_column("added_by")
