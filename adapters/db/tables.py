"""The schema, in SQLAlchemy Core; migrations in ``migrations/`` are generated from it."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# SQLite only autoincrements INTEGER PRIMARY KEY; PostgreSQL gets a BIGINT identity.
Id = BigInteger().with_variant(Integer(), "sqlite")


def _ts(name: str, *, nullable: bool = False, index: bool = False) -> Column[object]:
    return Column(name, DateTime(timezone=True), nullable=nullable, index=index)


agents = Table(
    "agents",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("email", String(320), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("role", String(20), nullable=False),
    Column("password_hash", String(200), nullable=False),
    Column("active", Boolean, nullable=False, default=True),
    Column("locale", String(10), nullable=False, default=""),
    _ts("created_at"),
    #: where calls for this agent ring (E.164), e.g. their mobile
    Column("phone", String(40), nullable=True),
    #: open conversations routing gives this agent at most; null: their teams' agent_capacity
    Column("capacity", Integer, nullable=True),
    #: what the agent counts as now: the status of their open presence interval
    Column("presence", String(10), nullable=False, server_default="offline"),
    #: what the agent chose to be while connected: online, away or offline
    Column("chosen_presence", String(10), nullable=False, server_default="online"),
    #: when routing last gave the agent a conversation (or they took one): round robin's turn
    _ts("last_assigned_at", nullable=True),
)

#: every change of an agent's presence, for reports of online time: the open one (no end) is
#: the agent's presence now
presence_intervals = Table(
    "presence_intervals",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("agent_id", Id, ForeignKey("agents.id", ondelete="CASCADE"), nullable=False),
    Column("status", String(10), nullable=False),
    _ts("started_at"),
    _ts("ended_at", nullable=True),
    Index("ix_presence_intervals_agent", "agent_id", "started_at"),
    Index(
        "uq_presence_intervals_open",
        "agent_id",
        unique=True,
        sqlite_where=text("ended_at IS NULL"),
        postgresql_where=text("ended_at IS NULL"),
    ),
)

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("agent_id", Id, ForeignKey("agents.id", ondelete="CASCADE"), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("name", String(100), nullable=False),
    _ts("created_at"),
    _ts("expires_at", nullable=True),
)

teams = Table(
    "teams",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("name", String(200), nullable=False, unique=True),
    _ts("created_at"),
    Column("assignment_mode", String(20), nullable=False, server_default="manual"),
    Column("agent_capacity", Integer, nullable=False, server_default="10"),
    #: null: an unanswered conversation is never moved on
    Column("answer_timeout_s", Integer, nullable=True),
    #: null: no limit
    Column("queue_limit", Integer, nullable=True),
)

team_members = Table(
    "team_members",
    metadata,
    Column("team_id", Id, ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True),
    Column("agent_id", Id, ForeignKey("agents.id", ondelete="CASCADE"), primary_key=True),
)

channels = Table(
    "channels",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("kind", String(40), nullable=False),
    Column("name", String(200), nullable=False),
    Column("public_key", String(64), nullable=False, unique=True),
    # The whole settings object, encrypted with the instance's secret key.
    Column("settings_enc", Text, nullable=False),
    Column("team_id", Id, ForeignKey("teams.id", ondelete="SET NULL"), nullable=True),
    Column("active", Boolean, nullable=False, default=True),
    _ts("created_at"),
)

channel_state = Table(
    "channel_state",
    metadata,
    Column("channel_id", Id, ForeignKey("channels.id", ondelete="CASCADE"), primary_key=True),
    Column("key", String(100), primary_key=True),
    Column("value", Text, nullable=False),
    _ts("expires_at", nullable=True),
)

contacts = Table(
    "contacts",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("name", String(200), nullable=False),
    Column("email", String(320), nullable=True, index=True),
    Column("phone", String(40), nullable=True, index=True),
    _ts("created_at"),
)

channel_identities = Table(
    "channel_identities",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("channel_id", Id, ForeignKey("channels.id", ondelete="CASCADE"), nullable=False),
    Column("contact_id", Id, ForeignKey("contacts.id", ondelete="CASCADE"), nullable=False),
    Column("external_id", String(255), nullable=False),
    Column("opted_out_at", DateTime(timezone=True), nullable=True),
    UniqueConstraint("channel_id", "external_id", name="uq_identity_channel_external"),
)

#: a conversation in its team's queue: nobody has it and it is open
WAITING = "assignee_id IS NULL AND status = 'open'"

conversations = Table(
    "conversations",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("channel_id", Id, ForeignKey("channels.id", ondelete="CASCADE"), nullable=False),
    Column("contact_id", Id, ForeignKey("contacts.id", ondelete="CASCADE"), nullable=False),
    Column(
        "identity_id", Id, ForeignKey("channel_identities.id", ondelete="CASCADE"), nullable=False
    ),
    Column("status", String(20), nullable=False),
    Column("assignee_id", Id, ForeignKey("agents.id", ondelete="SET NULL"), nullable=True),
    Column("team_id", Id, ForeignKey("teams.id", ondelete="SET NULL"), nullable=True),
    Column("unread_count", Integer, nullable=False, default=0),
    _ts("last_message_at", nullable=True),
    _ts("last_inbound_at", nullable=True),
    _ts("first_response_at", nullable=True),
    _ts("resolved_at", nullable=True),
    _ts("created_at"),
    _ts("updated_at", index=True),
    # 满意度评价: the customer's rating, and the request it answers (see hub.services.ratings)
    Column("rating_score", Integer, nullable=True),
    Column("rating_comment", Text, nullable=True),
    _ts("rated_at", nullable=True),
    _ts("rating_requested_at", nullable=True),
    _ts("rating_expires_at", nullable=True),
    # first response and resolution times in business hours only, for reports
    Column("first_response_business_s", Integer, nullable=True),
    Column("resolution_business_s", Integer, nullable=True),
    Index("ix_conversations_identity", "identity_id", "id"),
    Index("ix_conversations_activity", "last_message_at", "id"),
    # A team's queue in arrival order, and the count of those ahead of one: queue positions.
    Index(
        "ix_conversations_waiting",
        "team_id",
        "id",
        sqlite_where=text(WAITING),
        postgresql_where=text(WAITING),
    ),
    # An agent's open conversations: their load, which capacity bounds.
    Index("ix_conversations_assignee", "assignee_id", "status"),
)

messages = Table(
    "messages",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column(
        "conversation_id", Id, ForeignKey("conversations.id", ondelete="CASCADE"), nullable=False
    ),
    Column("channel_id", Id, ForeignKey("channels.id", ondelete="CASCADE"), nullable=False),
    Column("direction", String(3), nullable=False),
    Column("sender_type", String(10), nullable=False),
    Column("sender_agent_id", Id, ForeignKey("agents.id", ondelete="SET NULL"), nullable=True),
    Column("kind", String(20), nullable=False),
    Column("text", Text, nullable=False),
    Column("data", JSON, nullable=False),
    Column("private", Boolean, nullable=False, default=False),
    Column("status", String(20), nullable=False),
    Column("provider_message_id", String(255), nullable=True),
    Column("error", Text, nullable=True),
    _ts("created_at"),
    _ts("updated_at", index=True),
    # A provider's retry of the same message hits this key and adds nothing.
    UniqueConstraint(
        "channel_id", "direction", "provider_message_id", name="uq_message_provider_id"
    ),
    Index("ix_messages_conversation", "conversation_id", "id"),
)

attachments = Table(
    "attachments",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("message_id", Id, ForeignKey("messages.id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("filename", String(255), nullable=False),
    Column("content_type", String(100), nullable=False),
    Column("size", BigInteger, nullable=True),
    Column("storage_key", String(255), nullable=True),
    Column("provider_ref", Text, nullable=True),
    #: why the file could not be fetched from the provider, for good: {code, text}
    Column("failure", JSON, nullable=True),
    Index("ix_attachments_message", "message_id"),
)

inbound_events = Table(
    "inbound_events",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("channel_id", Id, ForeignKey("channels.id", ondelete="CASCADE"), nullable=False),
    Column("provider_event_id", String(255), nullable=False),
    Column("payload", JSON, nullable=False),
    Column("status", String(10), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("error", Text, nullable=True),
    _ts("received_at"),
    _ts("processed_at", nullable=True),
    UniqueConstraint("channel_id", "provider_event_id", name="uq_inbound_event_provider_id"),
    Index("ix_inbound_events_status", "status", "received_at"),
)

deliveries = Table(
    "deliveries",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("message_id", Id, ForeignKey("messages.id", ondelete="CASCADE"), nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("status", String(20), nullable=False),
    Column("error", Text, nullable=True),
    Column("provider_message_id", String(255), nullable=True),
    _ts("created_at"),
    Index("ix_deliveries_message", "message_id"),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("agent_id", Id, ForeignKey("agents.id", ondelete="SET NULL"), nullable=True),
    Column("action", String(60), nullable=False),
    Column("target", String(100), nullable=False),
    Column("data", JSON, nullable=False),
    _ts("created_at"),
)
