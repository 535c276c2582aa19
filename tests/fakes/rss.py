"""Building RSS 2.0 bodies for tests that publish stories as a newsroom would."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime
from xml.sax.saxutils import escape


@dataclass(frozen=True)
class Item:
    guid: str
    title: str
    published: datetime
    category: str = "Parliament"
    description: str = "<p>ASTANA. KAZINFORM – A story.</p>"
    link: str | None = None
    image: str | None = None


def rss(items: list[Item], *, title: str = "Kazinform", language: str = "en") -> bytes:
    entries = []
    for item in items:
        link = item.link or f"https://www.inform.kz/{language}/{item.guid}"
        image = f'<enclosure url="{escape(item.image)}" type="image/jpeg"/>' if item.image else ""
        entries.append(
            f"<item><title>{escape(item.title)}</title><link>{escape(link)}</link>"
            f'<guid isPermaLink="false">{escape(item.guid)}</guid>'
            f"<category>{escape(item.category)}</category>"
            f"<pubDate>{format_datetime(item.published)}</pubDate>"
            f"<description>{escape(item.description)}</description>{image}</item>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>{escape(title)}</title><link>https://www.inform.kz/</link>"
        f"<language>{language}</language>{''.join(entries)}</channel></rss>"
    ).encode()
