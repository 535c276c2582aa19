"""The CMS API over real HTTP: auth, validation, idempotency, and pushes that reach chats."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select

from bot.entrypoints.http.api import TokenCheck, cms_routes, request_models
from bot.entrypoints.http.cms import CmsNewsroom
from bot.entrypoints.http.server import build_app
from bot.services import breaking as breaking_service
from storage.models import Alert, Delivery
from tests.entrypoints.http.conftest import API_TOKEN, OTHER_TOKEN, READER, RunningBot
from tests.entrypoints.telegram.conftest import ENGLISH_READER

BREAKING = {"text": "Earthquake of magnitude 5 near Almaty", "link": "https://news.example/quake"}


async def deliveries_of(bot: RunningBot, alert_id: int) -> int:
    async with bot.database.sessions() as session:
        query = select(func.count()).where(Delivery.alert_id == alert_id)
        return int(await session.scalar(query) or 0)


async def test_every_route_needs_a_valid_bearer_token(bot: RunningBot) -> None:
    wrong = "cms-token-guess-000"
    for token, headers in [
        (None, {}),
        (wrong, {"Authorization": f"Bearer {wrong}"}),
        (API_TOKEN, {"Authorization": f"Basic {API_TOKEN}"}),
        (API_TOKEN, {"Authorization": f"Bearer {API_TOKEN}x"}),
    ]:
        async with bot.client(token=None) as client:
            answers = [
                await client.post("/api/v1/breaking", json=BREAKING, headers=headers),
                await client.post("/api/v1/stories", json={}, headers=headers),
                await client.get("/api/v1/deliveries/1", headers=headers),
            ]
        for answer in answers:
            assert answer.status_code == 401, (token, answer.text)
            assert answer.headers["www-authenticate"].startswith("Bearer")
            assert token is None or token not in answer.text
    async with bot.database.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Alert)) == 0
    # Either configured token works.
    async with bot.client(OTHER_TOKEN) as client:
        assert (await client.get("/api/v1/deliveries/1")).status_code == 404


async def test_a_bad_body_is_422_naming_the_field(bot: RunningBot) -> None:
    async with bot.client() as client:
        cases = [
            ("/api/v1/breaking", {"link": "https://x.example/"}, "text"),
            ("/api/v1/breaking", {"text": "   "}, "text"),
            ("/api/v1/breaking", {"text": "ok", "link": "javascript:alert(1)"}, "link"),
            ("/api/v1/breaking", {"text": "ok", "sections": ["sport"]}, "sections.0"),
            ("/api/v1/breaking", {"text": "ok", "colour": "red"}, "colour"),
            ("/api/v1/stories", {"title": "T", "section": "parliament"}, "url"),
            (
                "/api/v1/stories",
                {"title": "T", "url": "https://x.example/a", "section": "weather"},
                "section",
            ),
            (
                "/api/v1/stories",
                {
                    "title": "T",
                    "url": "https://x.example/a",
                    "section": "parliament",
                    "published_at": "2026-11-19T10:00:00",
                },
                "published_at",
            ),
        ]
        for path, body, field in cases:
            answer = await client.post(path, json=body)
            assert answer.status_code == 422, (body, answer.text)
            assert field in [item["field"] for item in answer.json()["fields"]], answer.text
        not_json = await client.post(
            "/api/v1/breaking", content=b"{text", headers={"Content-Type": "application/json"}
        )
        assert not_json.status_code == 422 and not_json.json()["fields"][0]["field"] == "body"
        long_key = await client.post(
            "/api/v1/breaking", json=BREAKING, headers={"Idempotency-Key": "k" * 256}
        )
        assert long_key.status_code == 422
    async with bot.database.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Alert)) == 0


async def test_breaking_news_reaches_readers_once_per_idempotency_key(bot: RunningBot) -> None:
    await bot.subscribe(READER)
    async with bot.client() as client:
        headers = {"Idempotency-Key": "cms-article-981-breaking"}
        first = await client.post("/api/v1/breaking", json=BREAKING, headers=headers)
        assert first.status_code == 202, first.text
        alert_id = first.json()["id"]
        assert first.json()["queued"] == 1
        await bot.api.wait_for(
            lambda m: m.chat_id == READER.id and "Earthquake" in m.text, timeout=10
        )

        retry = await client.post("/api/v1/breaking", json=BREAKING, headers=headers)
        assert retry.status_code == 202
        assert retry.json() == {"id": alert_id, "queued": 1}
        assert retry.headers["idempotent-replayed"] == "true"
        clash = await client.post(
            "/api/v1/breaking", json={**BREAKING, "text": "Something else"}, headers=headers
        )
        assert clash.status_code == 409
        await asyncio.sleep(1.0)
        assert len([m for m in bot.api.messages_to(READER.id) if "Earthquake" in m.text]) == 1
        assert await deliveries_of(bot, alert_id) == 1

        for _ in range(50):
            progress = (await client.get(f"/api/v1/deliveries/{alert_id}")).json()
            if progress["sent"] == 1:
                break
            await asyncio.sleep(0.1)
        assert progress == {"queued": 0, "sending": 0, "sent": 1, "failed": 0}
        assert (await client.get("/api/v1/deliveries/999999")).status_code == 404
        # Without a key, each POST is a new alert.
        again = await client.post("/api/v1/breaking", json=BREAKING)
        assert again.status_code == 202 and again.json()["id"] != alert_id
    async with bot.database.sessions() as session:
        alert = await session.get(Alert, alert_id)
        assert alert is not None and alert.source == "api" and alert.status == "sent"


async def test_breaking_news_with_sections_reaches_only_their_subscribers(
    bot: RunningBot,
) -> None:
    await bot.subscribe(READER, "parliament")
    await bot.subscribe(ENGLISH_READER, "economy")
    async with bot.client() as client:
        answer = await client.post(
            "/api/v1/breaking", json={"text": "Tenge hits a record", "sections": ["economy"]}
        )
        assert answer.status_code == 202 and answer.json()["queued"] == 1
    await bot.api.wait_for(
        lambda m: m.chat_id == ENGLISH_READER.id and "Tenge" in m.text, timeout=10
    )
    await asyncio.sleep(0.5)
    assert not [m for m in bot.api.messages_to(READER.id) if "Tenge" in m.text]


async def test_a_story_from_the_cms_is_pushed_once(bot: RunningBot) -> None:
    await bot.subscribe(READER)
    story = {
        "title": "Senate ratifies the water treaty",
        "url": "https://news.example/senate-water?utm_source=cms",
        "section": "parliament",
        "summary": "The agreement covers the Syr Darya basin.",
        "published_at": "2026-11-19T10:00:00+05:00",
    }
    async with bot.client() as client:
        created = await client.post("/api/v1/stories", json=story)
        assert created.status_code == 201, created.text
        assert created.json()["new"] is True
        await bot.api.wait_for(
            lambda m: m.chat_id == READER.id and "water treaty" in m.text, timeout=10
        )
        repeated = await client.post("/api/v1/stories", json=story)
        assert repeated.status_code == 200
        assert repeated.json() == {"id": created.json()["id"], "new": False}
    await asyncio.sleep(1.0)
    assert len([m for m in bot.api.messages_to(READER.id) if "water treaty" in m.text]) == 1


def refs(node: object) -> set[str]:
    """Every "$ref" target anywhere in a JSON document."""
    if isinstance(node, dict):
        found = {node["$ref"]} if isinstance(node.get("$ref"), str) else set()
        return found.union(*(refs(value) for value in node.values()))
    if isinstance(node, list):
        return set().union(*(refs(value) for value in node))
    return set()


async def test_the_openapi_document_matches_the_routes(bot: RunningBot) -> None:
    async with bot.client(token=None) as client:
        answer = await client.get("/api/v1/openapi.json")
    assert answer.status_code == 200
    document = answer.json()
    assert document["openapi"].startswith("3.")
    # The operations documented are the routes the app registers, method for method.
    sections = [section.slug for section in bot.settings.sections]
    app = build_app(
        cms_routes(
            CmsNewsroom(bot.database, lambda: None),
            TokenCheck([API_TOKEN]),
            sections,
            bot.settings.editions,
        )
    )
    registered = {
        (route.path, method.lower())
        for route in app.routes
        if route.path != "/api/v1/openapi.json"
        for method in getattr(route, "methods", set()) - {"HEAD"}
    }
    documented = {(path, method) for path, item in document["paths"].items() for method in item}
    assert documented == registered
    # Its schemas are the validating models' own, and every reference resolves.
    schemas = document["components"]["schemas"]
    models = request_models(sections, bot.settings.editions)
    for model in (models.breaking, models.story):
        generated = model.model_json_schema(ref_template="#/components/schemas/{model}")
        assert schemas[model.__name__] == generated
    assert {"BreakingQueued", "StoryStored", "Progress", "Error"} <= set(schemas)
    assert {ref.rsplit("/", 1)[1] for ref in refs(document)} <= set(schemas)
    assert schemas["StoryRequest"]["properties"]["section"]["enum"] == ["parliament", "economy"]
    assert document["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"


async def test_breaking_news_queued_chunk_by_chunk_reaches_each_chat_once(
    bot: RunningBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The answer comes after the first chunk of chats; the delivery tick queues the rest:
    every chat gets the news once, and the progress ends done."""
    monkeypatch.setattr(breaking_service, "FAN_OUT_CHUNK", 1)
    await bot.subscribe(READER)
    await bot.subscribe(ENGLISH_READER)
    async with bot.client() as client:
        answer = await client.post("/api/v1/breaking", json=BREAKING)
        assert answer.status_code == 202 and answer.json()["queued"] == 2
        alert_id = answer.json()["id"]
        for reader in (READER, ENGLISH_READER):
            await bot.api.wait_for(
                lambda m, chat=reader.id: m.chat_id == chat and "Earthquake" in m.text,
                timeout=10,
            )
        for _ in range(50):
            progress = (await client.get(f"/api/v1/deliveries/{alert_id}")).json()
            if progress["sent"] == 2:
                break
            await asyncio.sleep(0.1)
    assert progress == {"queued": 0, "sending": 0, "sent": 2, "failed": 0}
    for reader in (READER, ENGLISH_READER):
        assert len([m for m in bot.api.messages_to(reader.id) if "Earthquake" in m.text]) == 1
    async with bot.database.sessions() as session:
        alert = await session.get(Alert, alert_id)
    assert alert is not None and alert.fanned_out_at is not None and alert.audience == 2
