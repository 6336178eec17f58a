"""Celery tasks for billing."""

from __future__ import annotations

from celery import shared_task

from billing.services import usage_drain as usage_drain_service


@shared_task(name="billing.tasks.usage_drain", ignore_result=True)
def usage_drain() -> int:
    """Drain the usage event stream into the ledger (scheduled every few seconds by beat)."""
    return usage_drain_service()
