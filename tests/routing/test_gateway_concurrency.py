"""Many concurrent requests: exactly one ledger row each, and the ledger's spend equals what clients were told."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import openai
from django.db.models import Sum

from billing.models import UsageRecord

REQUESTS = 120


def test_concurrent_requests_each_land_once_with_exact_spend(gateway):
    async def run() -> list[tuple[str, Decimal]]:
        client = openai.AsyncOpenAI(base_url=gateway.v1, api_key=gateway.key, max_retries=0, timeout=30)

        async def one(i: int) -> tuple[str, Decimal]:
            model = ("openai/gpt-4o-mini", "anthropic/claude-haiku-4-5", "google/gemini-2.5-flash")[i % 3]
            messages = [{"role": "user", "content": f"request number {i}"}]
            if i % 2:
                stream = await client.chat.completions.create(
                    model=model, messages=messages, stream=True, stream_options={"include_usage": True}
                )
                last = None
                async for chunk in stream:
                    last = chunk
                return stream.response.headers["x-request-id"], Decimal(str(last.usage.model_extra["cost"]))
            raw = await client.chat.completions.with_raw_response.create(model=model, messages=messages)
            return raw.headers["x-request-id"], Decimal(str(raw.parse().usage.model_extra["cost"]))

        try:
            return await asyncio.gather(*(one(i) for i in range(REQUESTS)))
        finally:
            await client.close()

    results = asyncio.run(run())
    assert len({request_id for request_id, _ in results}) == REQUESTS
    gateway.drain()
    rows = UsageRecord.objects.filter(api_key=gateway.api_key)
    assert rows.count() == REQUESTS
    assert set(rows.values_list("request_id", flat=True)) == {request_id for request_id, _ in results}
    assert rows.aggregate(total=Sum("cost"))["total"] == sum(cost for _, cost in results)
    assert gateway.drain() == 0  # nothing left, nothing counted twice
