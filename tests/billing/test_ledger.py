"""The usage event stream and its drain: batches land once, replays never double-count."""

from __future__ import annotations

import uuid
from decimal import Decimal

import orjson
import pytest
import redis as redis_lib
from django.conf import settings
from django.utils import timezone

from billing.ledger import event_encode
from billing.models import UsageRecord
from billing.services import GROUP, STREAM_KEY, usage_drain, usage_record_batch
from tests.factories import make_key


@pytest.fixture
def rds():
    client = redis_lib.Redis.from_url(settings.REDIS_URL)
    client.flushdb()
    yield client
    client.flushdb()


def event(org, key, **extra):
    base = {
        "request_id": "req_" + uuid.uuid4().hex,
        "org": str(org.pk),
        "team": None,
        "user": key.user_id,
        "api_key": str(key.pk),
        "endpoint": "chat",
        "model_requested": "openai/gpt-4o-mini",
        "model_used": "openai/gpt-4o-mini",
        "provider": "openai",
        "status": "success",
        "http_status": 200,
        "input_tokens": 10,
        "output_tokens": 5,
        "cost": Decimal("0.000004500001"),
        "latency_ms": 12,
        "streamed": False,
        "tags": ["a"],
        "metadata": {"k": "v"},
        "created_at": timezone.now().isoformat(),
    }
    base.update(extra)
    return base


def test_batch_insert_is_idempotent_and_exact(org, member):
    key, _ = make_key(org=org, user=member)
    events = [orjson.loads(event_encode(event(org, key))) for _ in range(3)]
    assert usage_record_batch(events) == 3
    usage_record_batch(events)  # a replay
    assert UsageRecord.objects.filter(org=org).count() == 3
    assert UsageRecord.objects.first().cost == Decimal("0.000004500001")
    key.refresh_from_db()
    assert key.last_used_at is not None


def test_drain_moves_stream_into_ledger(rds, org, member):
    key, _ = make_key(org=org, user=member)
    for _ in range(25):
        rds.xadd(STREAM_KEY, {"e": event_encode(event(org, key))})
    assert usage_drain(batch_size=10) == 25
    assert UsageRecord.objects.filter(org=org).count() == 25
    assert rds.xlen(STREAM_KEY) == 0
    assert usage_drain() == 0


def test_events_a_crashed_worker_left_pending_are_claimed_again(rds, org, member):
    key, _ = make_key(org=org, user=member)
    rds.xgroup_create(STREAM_KEY, GROUP, id="0", mkstream=True)
    for _ in range(4):
        rds.xadd(STREAM_KEY, {"e": event_encode(event(org, key))})
    # A worker reads them and dies before acknowledging.
    rds.xreadgroup(GROUP, "dead-worker", {STREAM_KEY: ">"}, count=10)
    assert usage_drain(claim_idle_ms=60_000) == 0
    assert usage_drain(claim_idle_ms=0) == 4
    assert UsageRecord.objects.filter(org=org).count() == 4


def test_events_outliving_their_key_or_org_still_land_or_are_dropped(org, other_org, member, outsider):
    key, _ = make_key(org=org, user=member)
    gone_key, _ = make_key(org=other_org, user=outsider)
    keep = event(org, key)
    detached = event(org, key, api_key=str(uuid.uuid4()), user=999_999)
    orphan = event(other_org, gone_key)
    other_org.delete()
    assert usage_record_batch([keep, detached, orphan]) == 2
    row = UsageRecord.objects.get(request_id=detached["request_id"])
    assert row.api_key_id is None and row.user_id is None and row.org_id == org.pk
    assert not UsageRecord.objects.filter(request_id=orphan["request_id"]).exists()


def test_the_celery_task_drains_and_beat_schedules_it(rds, org, member):
    from billing.tasks import usage_drain as usage_drain_task
    from requesty.celery import app

    key, _ = make_key(org=org, user=member)
    rds.xadd(STREAM_KEY, {"e": event_encode(event(org, key))})
    assert usage_drain_task.delay().get() == 1  # eager here: no broker in tests
    assert UsageRecord.objects.filter(org=org).count() == 1
    assert app.conf.beat_schedule["usage-drain"]["task"] == "billing.tasks.usage_drain"
