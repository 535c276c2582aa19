"""The published OpenAPI document against the running API (schemathesis): for valid and invalid
requests alike, no answer is a 5xx and every answer is one the document describes.

Few examples per operation, derandomized: the same requests on every run, in seconds.
"""

from __future__ import annotations

import asyncio

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.entrypoints.http.conftest import API_TOKEN, RunningBot

EXAMPLES = 15
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def fuzz(document: dict[str, object], base_url: str, mode: GenerationMode) -> int:
    """Send EXAMPLES generated requests per operation; raises on the first failed check.
    Runs in a thread: the server answers in the test's event loop meanwhile."""
    schema = schemathesis.openapi.from_dict(document)
    headers = {"Authorization": f"Bearer {API_TOKEN}"}
    sent = 0
    for result in schema.get_all_operations():
        operation = result.ok()

        @settings(
            max_examples=EXAMPLES,
            derandomize=True,
            database=None,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy(generation_mode=mode))
        def check(case: schemathesis.Case) -> None:
            nonlocal sent
            case.call_and_validate(base_url=base_url, headers=headers, checks=CHECKS)
            sent += 1

        check()
    return sent


# schemathesis's own strategies draw from `random` (a deprecation Hypothesis reports, not ours).
@pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisDeprecationWarning")
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
async def test_the_api_answers_as_its_document_says(bot: RunningBot, mode: GenerationMode) -> None:
    async with httpx.AsyncClient(base_url=bot.base_url) as client:
        document = (await client.get("/api/v1/openapi.json")).json()
    sent = await asyncio.to_thread(fuzz, document, bot.base_url, mode)
    assert sent >= 3 * EXAMPLES // 2  # every operation was exercised
    async with httpx.AsyncClient(base_url=bot.base_url) as client:
        assert (await client.get("/healthz")).status_code == 200
