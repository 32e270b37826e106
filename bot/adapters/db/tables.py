"""The database schema (SQLAlchemy 2.x Core tables). Alembic migrations own its changes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore
from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.types import TypeDecorator

__all__ = [
    "UTCDateTime",
    "card_parts",
    "deliveries",
    "destinations",
    "metadata",
    "papers",
    "platform_state",
    "poll_state",
    "roundups",
    "slack_bots",
    "slack_installations",
    "slack_oauth_states",
    "subscriptions",
    "summaries",
    "workspaces",
]


class UTCDateTime(TypeDecorator[datetime]):
    """Stores UTC; refuses naive datetimes; always gives back UTC-aware ones (also on SQLite)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: paperwire stores UTC-aware times only")
        value = value.astimezone(UTC)
        # SQLite has no time zone type: keep it naive-UTC there, aware elsewhere.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata = MetaData(naming_convention=naming_convention)

papers = Table(
    "papers",
    metadata,
    Column("arxiv_id", String(64), primary_key=True),
    Column("version", Integer, nullable=False),
    Column("title", Text, nullable=False),
    Column("abstract", Text, nullable=False),
    Column("authors", JSON, nullable=False),  # [[name, affiliation-or-null], ...]
    Column("categories", JSON, nullable=False),  # primary first
    Column("published", UTCDateTime),
    Column("updated", UTCDateTime),
    Column("announce_type", String(16)),
    Column("doi", String(255)),
    Column("journal_ref", Text),
    Column("comment", Text),
    Column("hf_upvotes", Integer),
    Column("hf_comments", Integer),
    Column("hf_ai_summary", Text),
    Column("hf_ai_keywords", JSON),
    Column("hf_github_repo", Text),
    Column("hf_github_stars", Integer),
    Column("hf_project_page", Text),
    Column("hf_daily_date", Date),
    Column("s2_tldr", Text),
    Column("s2_citations", Integer),
    Column("sources", JSON, nullable=False),
    Column("first_seen", UTCDateTime, nullable=False),
    Column("last_changed", UTCDateTime, nullable=False),
    Index("ix_papers_first_seen", "first_seen"),
)

destinations = Table(
    "destinations",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("platform", String(16), nullable=False),
    Column("workspace", String(64), nullable=False),
    Column("channel", String(64), nullable=False),
    Column("timezone", String(64), nullable=False),
    Column("mode", String(16), nullable=False),
    Column("digest_hour", Integer, nullable=False),
    Column("revisions", Boolean, nullable=False),
    Column("roundup_day", String(3), nullable=False),
    Column("roundup_hour", Integer, nullable=False),
    Column("roundup_enabled", Boolean, nullable=False),
    Column("roundup_size", Integer, nullable=False, server_default="15"),
    Column("roundup_quiet", Boolean, nullable=False, server_default=false()),
    Column("roundup_public", Boolean, nullable=False, server_default=false()),
    Column("paused_reason", Text),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("platform", "workspace", "channel", name="uq_destinations_place"),
)

subscriptions = Table(
    "subscriptions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "destination_id",
        Integer,
        ForeignKey("destinations.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("query", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("starts_at", UTCDateTime, nullable=False),
    Column("paused", Boolean, nullable=False),
    Column("added_by", String(64)),  # the platform's user id; NULL: the command line
    Column("added_by_name", String(128)),  # how the platform showed that user then
    UniqueConstraint("destination_id", "query", name="uq_subscriptions_destination_query"),
)

deliveries = Table(
    "deliveries",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("arxiv_id", String(64), ForeignKey("papers.arxiv_id"), nullable=False),
    Column(
        "destination_id",
        Integer,
        ForeignKey("destinations.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("version", Integer, nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("due_at", UTCDateTime, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("claimed_until", UTCDateTime),
    Column("claim_token", String(64)),
    Column("maybe_posted", Boolean, nullable=False),
    Column("message_id", String(128)),
    Column("last_error", Text),
    Column("sent_at", UTCDateTime),
    UniqueConstraint("arxiv_id", "destination_id", name="uq_deliveries_paper_destination"),
    Index("ix_deliveries_status_due", "status", "due_at"),
)

roundups = Table(
    "roundups",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "destination_id",
        Integer,
        ForeignKey("destinations.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("week", String(16), nullable=False),  # the period's label: 2026-W48 or 2026-11-27
    Column("status", String(16), nullable=False),
    Column("message_id", String(128)),  # the header's
    Column("paper_ids", JSON, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("posted_at", UTCDateTime),
    Column("content", JSON),  # the Roundup itself, as built (a retry posts the same)
    Column("part_ids", JSON),  # message ids of the parts posted so far, in order
    Column("thread_id", String(128)),
    Column("due_at", UTCDateTime),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("claim_token", String(64)),
    Column("claimed_until", UTCDateTime),
    Column("maybe_posted", Boolean, nullable=False, server_default=false()),
    Column("last_error", Text),
    UniqueConstraint("destination_id", "week", name="uq_roundups_destination_week"),
    Index("ix_roundups_status_due", "status", "due_at"),
)

poll_state = Table(
    "poll_state",
    metadata,
    Column("source", String(32), primary_key=True),
    Column("etag", Text),
    Column("last_modified", Text),
    Column("last_attempt", UTCDateTime),
    Column("last_success", UTCDateTime),
    Column("last_change", UTCDateTime),
    Column("last_error", Text),
    Column("last_error_at", UTCDateTime),
    Column("consecutive_failures", Integer, nullable=False),
)

# A chat platform as a whole (its token refused, or unreachable): every destination on it
# waits, with the reason, until ``retry_at``, when the sender tries it again.
platform_state = Table(
    "platform_state",
    metadata,
    Column("platform", String(16), primary_key=True),
    Column("paused_reason", Text),
    Column("paused_at", UTCDateTime),
    Column("retry_at", UTCDateTime),
    Column("last_ok", UTCDateTime),
)

# Servers and workspaces paperwire has been used in (to greet the first person once).
workspaces = Table(
    "workspaces",
    metadata,
    Column("platform", String(16), primary_key=True),
    Column("workspace", String(64), primary_key=True),
    Column("first_used", UTCDateTime, nullable=False),
)

summaries = Table(
    "summaries",
    metadata,
    Column("arxiv_id", String(64), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("tier", String(32), primary_key=True),
    Column("tldr", Text, nullable=False),
    Column("key_points", JSON, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_summaries_tier_created", "tier", "created_at"),
)

# Each paper's card parts, prepared when the paper is stored (bot/services/cards.py): the
# offline TL;DR, key points and topic key. ``digest`` covers what they were made from (the
# paper's text, categories and keywords, and the recipe: summarizer code and taxonomy); a row
# whose digest no longer matches is ignored and made again.
card_parts = Table(
    "card_parts",
    metadata,
    Column("arxiv_id", String(64), primary_key=True),
    Column("digest", String(64), nullable=False),
    Column("tldr", Text, nullable=False),
    Column("key_points", JSON, nullable=False),
    Column("topic", String(64), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

# Slack's OAuth installations (HTTP mode for many workspaces), in slack_sdk's own table
# shapes so its SQLAlchemy stores read and write them; Alembic creates them with the rest.
slack_installations = SQLAlchemyInstallationStore.build_installations_table(
    metadata, "slack_installations"
)
slack_bots = SQLAlchemyInstallationStore.build_bots_table(metadata, "slack_bots")
slack_oauth_states = SQLAlchemyOAuthStateStore.build_oauth_states_table(
    metadata, "slack_oauth_states"
)
