"""Writes for billing: the usage ledger, filled in batches from the event stream."""

from __future__ import annotations

import functools
import logging
from datetime import datetime
from decimal import Decimal

import orjson
from django.conf import settings
from django.db import transaction
from django.utils.dateparse import parse_datetime

from billing.models import UsageRecord
from orgs.models import ApiKey, Organization, Team, User
from orgs.services import api_key_touch

log = logging.getLogger(__name__)

# One hash tag so every key of the stream lives in one Redis Cluster slot.
STREAM_KEY = "rq:{usage}:events"
GROUP = "ledger"
CONSUMER = "drain"
_FIELDS = {f.name for f in UsageRecord._meta.concrete_fields} - {"id"}
_FK = {"org": "org_id", "team": "team_id", "user": "user_id", "api_key": "api_key_id"}


def _record_from_event(event: dict) -> UsageRecord:
    data = {}
    for key, value in event.items():
        name = _FK.get(key, key)
        if name in _FIELDS or name in _FK.values():
            data[name] = value
    data["cost"] = Decimal(str(data.get("cost") or "0"))
    created = data.get("created_at")
    if isinstance(created, str):
        data["created_at"] = parse_datetime(created)
    for text_field in ("error_message", "end_user", "trace_id"):
        if data.get(text_field):
            data[text_field] = str(data[text_field])[: UsageRecord._meta.get_field(text_field).max_length]
    return UsageRecord(**data)


def _drop_dangling(records: list[UsageRecord]) -> list[UsageRecord]:
    """Keep records whose org still exists; detach them from a key, user or team deleted since."""
    if not records:
        return records
    ids = {name: {getattr(r, name) for r in records if getattr(r, name)} for name in _FK.values()}
    alive = {
        "org_id": set(Organization.objects.filter(pk__in=ids["org_id"]).values_list("pk", flat=True)),
        "team_id": set(Team.objects.filter(pk__in=ids["team_id"]).values_list("pk", flat=True)),
        "user_id": set(User.objects.filter(pk__in=ids["user_id"]).values_list("pk", flat=True)),
        "api_key_id": set(ApiKey.objects.filter(pk__in=ids["api_key_id"]).values_list("pk", flat=True)),
    }
    alive = {name: {str(v) for v in values} for name, values in alive.items()}
    kept = []
    for r in records:
        if str(r.org_id) not in alive["org_id"]:
            continue  # the organization was deleted, and its ledger with it
        for name in ("team_id", "user_id", "api_key_id"):
            if getattr(r, name) and str(getattr(r, name)) not in alive[name]:
                setattr(r, name, None)
        kept.append(r)
    return kept


@transaction.atomic
def usage_record_batch(events: list[dict]) -> int:
    """Insert usage events; a request id already recorded is skipped, so replays never double-count."""
    if not events:
        return 0
    records = _drop_dangling([_record_from_event(e) for e in events])
    UsageRecord.objects.bulk_create(records, ignore_conflicts=True, batch_size=500)
    last_used: dict[str, datetime] = {}
    for r in records:
        key_id = str(r.api_key_id) if r.api_key_id else None
        if key_id and (key_id not in last_used or r.created_at > last_used[key_id]):
            last_used[key_id] = r.created_at
    api_key_touch(key_ids_last_used=last_used)
    return len(records)


@functools.cache
def _sync_redis(url: str):
    """One pooled client per Redis URL for the drain, which beat runs every few seconds."""
    import redis

    return redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)


def usage_drain(*, batch_size: int = 1000, max_batches: int = 50, claim_idle_ms: int = 60_000) -> int:
    """Move usage events from the Redis stream into the ledger; safe to run concurrently and to retry.

    Events are acknowledged only after their batch commits. Events a crashed worker left pending are
    claimed again once idle, and the unique request id makes the replay harmless.
    """
    if not settings.REDIS_URL:
        return 0
    client = _sync_redis(settings.REDIS_URL)
    try:
        client.xgroup_create(STREAM_KEY, GROUP, id="0", mkstream=True)
    except Exception as exc:  # BUSYGROUP: it exists already
        if "BUSYGROUP" not in str(exc):
            raise
    total = 0
    _, claimed, _ = client.xautoclaim(STREAM_KEY, GROUP, CONSUMER, min_idle_time=claim_idle_ms, count=batch_size)
    batches = [claimed] if claimed else []
    for _ in range(max_batches):
        if not batches:
            resp = client.xreadgroup(GROUP, CONSUMER, {STREAM_KEY: ">"}, count=batch_size)
            if not resp:
                break
            batches.append(resp[0][1])
        entries = batches.pop()
        ids = [entry_id for entry_id, _ in entries]
        events = []
        for _, fields in entries:
            raw = fields.get(b"e") if fields else None
            if raw:
                try:
                    events.append(orjson.loads(raw))
                except orjson.JSONDecodeError:
                    log.error("dropping an unreadable usage event")
        usage_record_batch(events)
        client.xack(STREAM_KEY, GROUP, *ids)
        client.xdel(STREAM_KEY, *ids)
        total += len(events)
    return total
