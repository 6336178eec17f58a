"""The usage event stream: the hot path appends, workers drain into Postgres in batches.

With REDIS_URL set, events go to a Redis stream (one XADD, no database on the request path) and
`usage_drain` moves them into the ledger. Without Redis (make run), or when Redis fails, the event is
written straight to the database so that no usage record is ever lost.
"""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import Any

import orjson
from asgiref.sync import sync_to_async
from django.conf import settings

from billing.services import STREAM_KEY, usage_record_batch

log = logging.getLogger(__name__)


def _default(obj: Any) -> Any:
    if isinstance(obj, Decimal):
        return str(obj)
    raise TypeError(type(obj).__name__)


def event_encode(event: dict) -> bytes:
    """Serialize a usage event; Decimals travel as strings, never floats."""
    return orjson.dumps(event, default=_default)


_redis = None


def redis_client():
    """The shared asyncio Redis client, or None when running embedded."""
    global _redis
    if not settings.REDIS_URL:
        return None
    if _redis is None:
        import redis.asyncio as aioredis

        _redis = aioredis.from_url(settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2)
    return _redis


async def usage_emit(event: dict) -> None:
    """Append one usage event; falls back to a direct database write if the stream is unavailable."""
    client = redis_client()
    if client is not None:
        try:
            await client.xadd(STREAM_KEY, {"e": event_encode(event)})
            return
        except Exception as exc:  # any Redis failure: the record must still land
            log.warning(
                "usage stream unavailable (%s); writing request %s directly",
                type(exc).__name__,
                event.get("request_id"),
            )
    await sync_to_async(usage_record_batch, thread_sensitive=False)([event])
