"""Writes for tenancy: every admin write records an audit row in the same transaction."""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify

from orgs.models import (
    API_KEY_PREFIX,
    ApiKey,
    ApiKeyKind,
    AuditLog,
    Invitation,
    Membership,
    Organization,
    Role,
    Team,
    User,
    hash_secret,
)

INVITATION_TTL = timedelta(days=7)


def _snapshot(obj: Any, fields: Iterable[str]) -> dict:
    """A JSON-safe dict of an object's fields, for before/after in the audit log."""
    out: dict[str, Any] = {}
    for name in fields:
        value = getattr(obj, name)
        if hasattr(value, "pk"):
            value = str(value.pk)
        elif isinstance(value, datetime):
            value = value.isoformat()
        elif value is not None and not isinstance(value, (str, int, float, bool, list, dict)):
            value = str(value)
        out[name] = value
    return out


def audit_record(
    *,
    org: Organization,
    actor: User | None,
    action: str,
    obj: Any,
    before: dict | None = None,
    after: dict | None = None,
    ip: str | None = None,
) -> AuditLog:
    """Append one audit row; call inside the transaction of the write it describes."""
    return AuditLog.objects.create(
        org=org,
        actor=actor,
        actor_email=getattr(actor, "email", "") or "system",
        action=action,
        object_type=type(obj).__name__.lower(),
        object_id=str(getattr(obj, "pk", "") or ""),
        object_repr=str(obj)[:200],
        before=before,
        after=after,
        ip=ip,
    )


def _unique_slug(name: str) -> str:
    base = slugify(name)[:120] or "org"
    slug, n = base, 1
    while Organization.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug


ORG_FIELDS = ("name", "billing_email")


@transaction.atomic
def org_create(*, name: str, owner: User, ip: str | None = None) -> Organization:
    """Create an organization with its first owner."""
    org = Organization.objects.create(name=name.strip(), slug=_unique_slug(name))
    Membership.objects.create(org=org, user=owner, role=Role.OWNER)
    audit_record(org=org, actor=owner, action="org.create", obj=org, after=_snapshot(org, ORG_FIELDS), ip=ip)
    return org


@transaction.atomic
def org_update(*, org: Organization, actor: User, ip: str | None = None, **changes: Any) -> Organization:
    """Change an organization's settings."""
    before = _snapshot(org, ORG_FIELDS)
    for field in ORG_FIELDS:
        if field in changes:
            setattr(org, field, changes[field])
    org.save(update_fields=list(ORG_FIELDS))
    audit_record(
        org=org, actor=actor, action="org.update", obj=org, before=before, after=_snapshot(org, ORG_FIELDS), ip=ip
    )
    return org


TEAM_FIELDS = ("name", "description")


def _check_team_name(*, org: Organization, name: str, exclude: Team | None = None) -> str:
    name = name.strip()
    if not name:
        raise ValidationError({"name": "A team needs a name."})
    qs = Team.objects.for_org(org).filter(name__iexact=name)
    if exclude is not None:
        qs = qs.exclude(pk=exclude.pk)
    if qs.exists():
        raise ValidationError({"name": "A team with this name already exists."})
    return name


@transaction.atomic
def team_create(*, org: Organization, actor: User, name: str, description: str = "", ip: str | None = None) -> Team:
    """Create a team."""
    team = Team.objects.create(org=org, name=_check_team_name(org=org, name=name), description=description)
    audit_record(org=org, actor=actor, action="team.create", obj=team, after=_snapshot(team, TEAM_FIELDS), ip=ip)
    return team


@transaction.atomic
def team_update(*, team: Team, actor: User, name: str, description: str = "", ip: str | None = None) -> Team:
    """Rename or re-describe a team."""
    before = _snapshot(team, TEAM_FIELDS)
    team.name = _check_team_name(org=team.org, name=name, exclude=team)
    team.description = description
    team.save(update_fields=list(TEAM_FIELDS))
    audit_record(
        org=team.org,
        actor=actor,
        action="team.update",
        obj=team,
        before=before,
        after=_snapshot(team, TEAM_FIELDS),
        ip=ip,
    )
    return team


@transaction.atomic
def team_delete(*, team: Team, actor: User, ip: str | None = None) -> None:
    """Delete a team; its keys stay, detached from it."""
    audit_record(org=team.org, actor=actor, action="team.delete", obj=team, before=_snapshot(team, TEAM_FIELDS), ip=ip)
    team.delete()


def _check_teams(org: Organization, teams: Iterable[Team]) -> list[Team]:
    teams = list(teams)
    if any(t.org_id != org.pk for t in teams):
        raise ValidationError({"teams": "Unknown team."})
    return teams


def _check_role_grant(*, actor_membership: Membership | None, role: str) -> None:
    if role not in Role.values:
        raise ValidationError({"role": f"Unknown role {role!r}."})
    if role == Role.OWNER and (actor_membership is None or not actor_membership.is_owner):
        raise ValidationError({"role": "Only an owner can grant the owner role."})


@transaction.atomic
def invitation_create(
    *,
    org: Organization,
    actor: User,
    email: str,
    role: str = Role.MEMBER,
    teams: Iterable[Team] = (),
    ip: str | None = None,
) -> tuple[Invitation, str]:
    """Invite an email address; returns the invitation and the one-time token in its link."""
    email = User.objects.normalize_email(email).strip().lower()
    if not email:
        raise ValidationError({"email": "An email address is required."})
    actor_membership = Membership.objects.for_org(org).filter(user=actor).first()
    _check_role_grant(actor_membership=actor_membership, role=role)
    if Membership.objects.for_org(org).filter(user__email__iexact=email).exists():
        raise ValidationError({"email": "This person is already a member."})
    if Invitation.objects.for_org(org).pending().filter(email__iexact=email).exists():
        raise ValidationError({"email": "An invitation for this address is already pending."})
    teams = _check_teams(org, teams)
    token = secrets.token_urlsafe(32)
    invitation = Invitation.objects.create(
        org=org,
        email=email,
        role=role,
        token_hash=hash_secret(token),
        invited_by=actor,
        expires_at=timezone.now() + INVITATION_TTL,
    )
    invitation.teams.set(teams)
    audit_record(
        org=org,
        actor=actor,
        action="invitation.create",
        obj=invitation,
        after={"email": email, "role": role, "teams": [str(t.pk) for t in teams]},
        ip=ip,
    )
    link = settings.SITE_URL.rstrip("/") + reverse("orgs:invitation-accept", args=[token])
    body = render_to_string("orgs/email/invitation.txt", {"invitation": invitation, "link": link, "actor": actor})
    transaction.on_commit(
        lambda: send_mail(f"You're invited to {org.name} on Requesty", body, None, [email], fail_silently=True)
    )
    return invitation, token


def invitation_for_token(token: str) -> Invitation | None:
    """The invitation a link's token names, or None."""
    return Invitation.objects.select_related("org").filter(token_hash=hash_secret(token)).first()


@transaction.atomic
def invitation_accept(*, token: str, user: User, ip: str | None = None) -> Membership:
    """Join the organization an invitation offers."""
    invitation = Invitation.objects.select_for_update().filter(token_hash=hash_secret(token)).first()
    if invitation is None or invitation.status != "pending":
        state = invitation.status if invitation else "invalid"
        raise ValidationError(f"This invitation is {state}.")
    if invitation.email.lower() != user.email.lower():
        raise ValidationError("This invitation was sent to a different email address.")
    membership, _ = Membership.objects.get_or_create(org=invitation.org, user=user, defaults={"role": invitation.role})
    membership.teams.add(*invitation.teams.all())
    invitation.accepted_at = timezone.now()
    invitation.save(update_fields=["accepted_at"])
    audit_record(
        org=invitation.org,
        actor=user,
        action="invitation.accept",
        obj=invitation,
        after={"role": membership.role},
        ip=ip,
    )
    return membership


@transaction.atomic
def invitation_revoke(*, invitation: Invitation, actor: User, ip: str | None = None) -> Invitation:
    """Withdraw a pending invitation."""
    if invitation.status != "pending":
        raise ValidationError(f"This invitation is already {invitation.status}.")
    invitation.revoked_at = timezone.now()
    invitation.save(update_fields=["revoked_at"])
    audit_record(
        org=invitation.org,
        actor=actor,
        action="invitation.revoke",
        obj=invitation,
        before={"status": "pending"},
        after={"status": "revoked"},
        ip=ip,
    )
    return invitation


@transaction.atomic
def membership_add(
    *,
    org: Organization,
    actor: User | None,
    user: User,
    role: str = Role.MEMBER,
    teams: Iterable[Team] = (),
    ip: str | None = None,
) -> Membership:
    """Add an existing user to the organization directly (scripted set-up; people are invited)."""
    if role not in Role.values:
        raise ValidationError({"role": f"Unknown role {role!r}."})
    if Membership.objects.for_org(org).filter(user=user).exists():
        raise ValidationError({"user": "This person is already a member."})
    teams = _check_teams(org, teams)
    membership = Membership.objects.create(org=org, user=user, role=role)
    membership.teams.set(teams)
    audit_record(
        org=org, actor=actor, action="membership.create", obj=membership, after=_membership_snapshot(membership), ip=ip
    )
    return membership


def _membership_snapshot(m: Membership) -> dict:
    return {"role": m.role, "teams": sorted(str(t.pk) for t in m.teams.all())}


def _check_last_owner(membership: Membership, new_role: str | None) -> None:
    if membership.role == Role.OWNER and new_role != Role.OWNER:
        owners = Membership.objects.for_org(membership.org).filter(role=Role.OWNER).count()
        if owners <= 1:
            raise ValidationError({"role": "An organization needs at least one owner."})


@transaction.atomic
def membership_update(
    *,
    membership: Membership,
    actor: User,
    role: str | None = None,
    teams: Iterable[Team] | None = None,
    ip: str | None = None,
) -> Membership:
    """Change a member's role and/or teams."""
    actor_membership = Membership.objects.for_org(membership.org).filter(user=actor).first()
    before = _membership_snapshot(membership)
    if role is not None and role != membership.role:
        _check_role_grant(actor_membership=actor_membership, role=role)
        if membership.role == Role.OWNER and not (actor_membership and actor_membership.is_owner):
            raise ValidationError({"role": "Only an owner can change another owner's role."})
        _check_last_owner(membership, role)
        membership.role = role
        membership.save(update_fields=["role"])
    if teams is not None:
        membership.teams.set(_check_teams(membership.org, teams))
    audit_record(
        org=membership.org,
        actor=actor,
        action="membership.update",
        obj=membership,
        before=before,
        after=_membership_snapshot(membership),
        ip=ip,
    )
    return membership


@transaction.atomic
def membership_remove(*, membership: Membership, actor: User, ip: str | None = None) -> None:
    """Remove a member from the organization and revoke their keys there."""
    actor_membership = Membership.objects.for_org(membership.org).filter(user=actor).first()
    if membership.role == Role.OWNER and not (actor_membership and actor_membership.is_owner):
        raise ValidationError("Only an owner can remove an owner.")
    _check_last_owner(membership, None)
    now = timezone.now()
    ApiKey.objects.for_org(membership.org).filter(user=membership.user, revoked_at__isnull=True).update(revoked_at=now)
    audit_record(
        org=membership.org,
        actor=actor,
        action="membership.remove",
        obj=membership,
        before=_membership_snapshot(membership),
        ip=ip,
    )
    membership.delete()


def _new_key_secret() -> str:
    return API_KEY_PREFIX + secrets.token_urlsafe(32)


KEY_FIELDS = ("name", "kind", "prefix", "user", "team", "expires_at", "revoked_at")


@transaction.atomic
def api_key_create(
    *,
    org: Organization,
    actor: User,
    user: User,
    name: str,
    team: Team | None = None,
    kind: str = ApiKeyKind.GATEWAY,
    expires_at: datetime | None = None,
    ip: str | None = None,
) -> tuple[ApiKey, str]:
    """Issue a key; returns the row and the plaintext, which is never stored and shown once."""
    name = name.strip()
    if not name:
        raise ValidationError({"name": "A key needs a name."})
    member = Membership.objects.for_org(org).filter(user=user).first()
    if member is None:
        raise ValidationError({"user": "This user is not a member of the organization."})
    if team is not None and team.org_id != org.pk:
        raise ValidationError({"team": "Unknown team."})
    actor_membership = member if actor == user else Membership.objects.for_org(org).filter(user=actor).first()
    if (
        team is not None
        and actor_membership is not None
        and not actor_membership.is_manager
        and not actor_membership.teams.filter(pk=team.pk).exists()
    ):
        # A team's spend is its own: only its members (or admins) may bill keys to it.
        raise ValidationError({"team": "You can only attach a key to a team you belong to."})
    if kind not in ApiKeyKind.values:
        raise ValidationError({"kind": f"Unknown key kind {kind!r}."})
    if kind == ApiKeyKind.MANAGEMENT and not member.is_manager:
        raise ValidationError({"kind": "Management keys can only belong to an owner or admin."})
    if expires_at is not None and expires_at <= timezone.now():
        raise ValidationError({"expires_at": "The expiry must be in the future."})
    secret = _new_key_secret()
    key = ApiKey.objects.create(
        org=org,
        user=user,
        team=team,
        kind=kind,
        name=name,
        prefix=secret[:12],
        key_hash=hash_secret(secret),
        created_by=actor,
        expires_at=expires_at,
    )
    audit_record(org=org, actor=actor, action="api_key.create", obj=key, after=_snapshot(key, KEY_FIELDS), ip=ip)
    return key, secret


@transaction.atomic
def api_key_revoke(*, key: ApiKey, actor: User, ip: str | None = None) -> ApiKey:
    """Revoke a key; every gateway replica stops accepting it within the auth cache window."""
    if key.revoked_at is not None:
        return key
    before = _snapshot(key, KEY_FIELDS)
    key.revoked_at = timezone.now()
    key.save(update_fields=["revoked_at"])
    audit_record(
        org=key.org,
        actor=actor,
        action="api_key.revoke",
        obj=key,
        before=before,
        after=_snapshot(key, KEY_FIELDS),
        ip=ip,
    )
    return key


def api_key_touch(*, key_ids_last_used: dict[str, datetime]) -> None:
    """Record when keys were last used (batched off the hot path)."""
    for key_id, when in key_ids_last_used.items():
        ApiKey.objects.filter(pk=key_id).exclude(last_used_at__gte=when).update(last_used_at=when)
