"""Gateway key authentication: sha256 of the bearer token to a cached principal."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from datetime import datetime

from asgiref.sync import sync_to_async
from django.conf import settings
from django.utils import timezone

from orgs.models import API_KEY_PREFIX, ApiKey, ApiKeyKind, hash_secret
from routing.gateway.catalog import Prices, thread_connections_refresh
from routing.models import OrgModelPrice, ProviderCredential

# Unknown keys are remembered briefly too, so a flood of bad keys cannot reach the database.
NEGATIVE_TTL = 2.0


@dataclass(frozen=True, slots=True)
class Credential:
    """An organization's own key for one provider."""

    api_key: str
    base_url: str = ""
    api_version: str = ""


@dataclass(frozen=True, slots=True)
class Principal:
    """Everything the hot path needs to know about the caller, loaded once per cache window."""

    key_id: str
    key_prefix: str
    org_id: str
    user_id: int
    team_id: str | None
    expires_at: datetime | None
    price_overrides: dict[str, Prices] = field(default_factory=dict)
    credentials: dict[str, Credential] = field(default_factory=dict)

    def expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= timezone.now()


def principal_load(key_hash: str) -> Principal | None:
    """Read a gateway key and its organization's prices and credentials (sync, off the loop)."""
    thread_connections_refresh()
    key = (
        ApiKey.objects.active()
        .filter(key_hash=key_hash, kind=ApiKeyKind.GATEWAY)
        .only("id", "prefix", "org_id", "user_id", "team_id", "expires_at")
        .first()
    )
    if key is None:
        return None
    overrides = {
        p.model_id: Prices(p.input_price, p.output_price, p.cache_read_price, p.cache_write_price)
        for p in OrgModelPrice.objects.filter(org_id=key.org_id)
    }
    credentials = {
        c.provider_id: Credential(c.api_key, c.base_url, c.api_version)
        for c in ProviderCredential.objects.filter(org_id=key.org_id)
    }
    return Principal(
        key_id=str(key.pk),
        key_prefix=key.prefix,
        org_id=str(key.org_id),
        user_id=key.user_id,
        team_id=str(key.team_id) if key.team_id else None,
        expires_at=key.expires_at,
        price_overrides=overrides,
        credentials=credentials,
    )


class PrincipalCache:
    """key hash -> (principal or None, loaded at); stale entries refresh in the background.

    A revoke reaches every replica within GATEWAY_AUTH_CACHE_SECONDS: a hit younger than 80% of the
    window is served as is, an older one is served while a refresh runs, and one past the window waits.
    """

    def __init__(self) -> None:
        self._entries: dict[str, tuple[Principal | None, float]] = {}
        self._refreshing: dict[str, asyncio.Task] = {}

    async def get(self, token: str) -> Principal | None:
        """The principal for a bearer token, or None for an invalid, revoked or expired key."""
        if not token.startswith(API_KEY_PREFIX) or len(token) > 200:
            return None
        key_hash = hash_secret(token)
        ttl = settings.GATEWAY_AUTH_CACHE_SECONDS
        hit = self._entries.get(key_hash)
        now = time.monotonic()
        if hit is not None:
            principal, loaded = hit
            age = now - loaded
            limit = ttl if principal is not None else min(ttl, NEGATIVE_TTL)
            if age < limit:
                if principal is not None and age > 0.8 * ttl and key_hash not in self._refreshing:
                    # Held here until done: the event loop keeps only weak references to tasks.
                    self._refreshing[key_hash] = asyncio.ensure_future(self._refresh(key_hash))
                return None if principal is None or principal.expired() else principal
        principal = await sync_to_async(principal_load, thread_sensitive=False)(key_hash)
        self._store(key_hash, principal)
        return None if principal is None or principal.expired() else principal

    async def _refresh(self, key_hash: str) -> None:
        try:
            self._store(key_hash, await sync_to_async(principal_load, thread_sensitive=False)(key_hash))
        finally:
            self._refreshing.pop(key_hash, None)

    def _store(self, key_hash: str, principal: Principal | None) -> None:
        if len(self._entries) > 100_000:
            self._entries.clear()
        self._entries[key_hash] = (principal, time.monotonic())

    def clear(self) -> None:
        """Forget every cached principal (tests)."""
        self._entries.clear()


principal_cache = PrincipalCache()
