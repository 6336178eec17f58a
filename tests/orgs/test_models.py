"""Keys are stored hashed, revocable and expire."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from orgs.models import ApiKey, AuditLog, Membership, hash_secret
from orgs.services import api_key_create, api_key_revoke, membership_add
from tests.factories import UserFactory, make_key


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


def test_members_bill_keys_only_to_their_own_teams(org, member, admin, team):
    with pytest.raises(ValidationError) as info:
        api_key_create(org=org, actor=member, user=member, name="k", team=team)
    assert "team" in info.value.message_dict
    # An admin may attach anyone's key to any team (team service keys), and members to their own teams.
    key, _ = api_key_create(org=org, actor=admin, user=member, name="service", team=team)
    assert key.team == team
    Membership.objects.get(org=org, user=member).teams.add(team)
    assert api_key_create(org=org, actor=member, user=member, name="mine", team=team)[0].team == team


def test_membership_add_is_audited(org, owner, team):
    user = UserFactory(email="new@acme.test")
    membership = membership_add(org=org, actor=owner, user=user, role="viewer", teams=[team])
    assert membership.role == "viewer" and list(membership.teams.all()) == [team]
    assert AuditLog.objects.filter(org=org, action="membership.create", object_id=str(membership.pk)).exists()
    with pytest.raises(ValidationError):
        membership_add(org=org, actor=owner, user=user)
