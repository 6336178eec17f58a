"""Keys are stored hashed, revocable and expire."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from orgs.models import ApiKey, AuditLog, hash_secret
from orgs.services import api_key_revoke
from tests.factories import make_key


def test_key_plaintext_is_never_stored(org, member):
    key, secret = make_key(org=org, user=member)
    assert secret.startswith("rqk_") and len(secret) > 40
    row = ApiKey.objects.values().get(pk=key.pk)
    assert secret not in [str(v) for v in row.values()]
    assert row["key_hash"] == hash_secret(secret)
    assert row["prefix"] == secret[:12]


def test_revoke_and_expiry(org, member):
    key, _ = make_key(org=org, user=member)
    assert ApiKey.objects.active().filter(pk=key.pk).exists()
    api_key_revoke(key=key, actor=member)
    assert key.status == "revoked"
    assert not ApiKey.objects.active().filter(pk=key.pk).exists()
    assert AuditLog.objects.filter(org=org, action="api_key.revoke", object_id=str(key.pk)).exists()

    soon, _ = make_key(org=org, user=member, expires_at=timezone.now() + timedelta(seconds=60))
    assert soon.is_active
    ApiKey.objects.filter(pk=soon.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    soon.refresh_from_db()
    assert soon.status == "expired"
    assert not ApiKey.objects.active().filter(pk=soon.pk).exists()


def test_key_for_non_member_is_refused(org, outsider):
    with pytest.raises(ValidationError):
        make_key(org=org, user=outsider)
