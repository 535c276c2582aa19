"""The tables. Identity is enforced by the database (unique constraints), never by the caller.

One module per group (base, news, chats, outbox); `storage.models` names every table, as
Alembic (storage/migrations/env.py) and the queries import them from here.
"""

from storage.models.base import NAMING_CONVENTION, Base, BigId
from storage.models.chats import (
    Approval,
    ChannelRule,
    DeskPrompt,
    Destination,
    DestinationEdition,
    ForumTopic,
    Subscription,
    WebhookUpdate,
)
from storage.models.news import (
    Engagement,
    Feed,
    MostReadRank,
    ReactionCount,
    Section,
    Story,
    StoryAlternate,
    StoryEngagement,
)
from storage.models.outbox import Alert, Delivery, DigestSlot

__all__ = [
    "NAMING_CONVENTION",
    "Alert",
    "Approval",
    "Base",
    "BigId",
    "ChannelRule",
    "Delivery",
    "DeskPrompt",
    "Destination",
    "DestinationEdition",
    "DigestSlot",
    "Engagement",
    "Feed",
    "ForumTopic",
    "MostReadRank",
    "ReactionCount",
    "Section",
    "Story",
    "StoryAlternate",
    "StoryEngagement",
    "Subscription",
    "WebhookUpdate",
]
