"""`createapikey --org ORG --user EMAIL`: issue an API key from the command line and print it once."""

from __future__ import annotations

import uuid
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db.models import Q
from django.utils import timezone

from orgs.management.commands.createorg import validation_message
from orgs.models import ApiKeyKind, Organization, Team, User
from orgs.services import api_key_create


def _id_or_name(value: str) -> Q:
    """Match a row by its UUID or, failing that, case-insensitively by name."""
    try:
        return Q(pk=uuid.UUID(value))
    except ValueError:
        return Q(name__iexact=value.strip())


def _one(queryset, what: str, value: str):
    matches = list(queryset[:2])
    if not matches:
        raise CommandError(f"Unknown {what}: {value!r}.")
    if len(matches) > 1:
        raise CommandError(f"Several {what}s match {value!r}; use the id.")
    return matches[0]


class Command(BaseCommand):
    help = "Issue an API key for a member of an organization and print it once."

    def add_arguments(self, parser):
        parser.add_argument("--org", required=True, help="The organization's slug, name or id.")
        parser.add_argument("--user", required=True, help="The key owner's email; they must be a member.")
        parser.add_argument("--team", help="A team of that organization, by name or id.")
        parser.add_argument("--name", default="CLI key", help="A label for the key.")
        parser.add_argument("--kind", choices=ApiKeyKind.values, default=ApiKeyKind.GATEWAY)
        parser.add_argument("--expires-days", type=int, help="Expire the key after this many days.")

    def handle(self, *args, org: str, user: str, team: str | None, name: str, kind: str, expires_days, **options):
        by_slug = Organization.objects.filter(slug=org.strip())
        organization = _one(
            by_slug if by_slug.exists() else Organization.objects.filter(_id_or_name(org)), "organization", org
        )
        owner = _one(User.objects.filter(email__iexact=user.strip()), "user", user)
        team_row = None
        if team:
            team_row = _one(Team.objects.for_org(organization).filter(_id_or_name(team)), "team", team)
        if expires_days is not None and expires_days <= 0:
            raise CommandError("--expires-days must be a positive number of days.")
        expires_at = timezone.now() + timedelta(days=expires_days) if expires_days else None
        try:
            key, plaintext = api_key_create(
                org=organization, actor=None, user=owner, name=name, team=team_row, kind=kind, expires_at=expires_at
            )
        except ValidationError as exc:
            raise CommandError(validation_message(exc)) from None
        self.stdout.write(
            self.style.SUCCESS(f"Created {key.kind} key {key.name!r} for {owner.email} in {organization}.")
        )
        self.stdout.write(f"API key (shown once): {plaintext}")
