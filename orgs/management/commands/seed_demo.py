"""Seed the local demo: org Acme, its owner, team Platform, a developer and a fresh gateway key."""

from __future__ import annotations

import json

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction

from orgs.models import ApiKey, Membership, Organization, Role, Team, User
from orgs.services import (
    api_key_create,
    api_key_revoke,
    membership_add,
    membership_update,
    org_create,
    team_create,
)

ORG_NAME = "Acme"
TEAM_NAME = "Platform"
OWNER_EMAIL = "admin@acme.test"
DEVELOPER_EMAIL = "dev@acme.test"
DEMO_PASSWORD = "requesty-demo"
KEY_NAME = "make run demo key"
DEMO_MODEL = "demo/echo"


def _demo_user(email: str, password: str) -> User:
    """The user with this email; a new one gets the demo password, an existing one keeps theirs."""
    user = User.objects.filter(email=email).first()
    return user or User.objects.create_user(email=email, password=password)


class Command(BaseCommand):
    help = (
        "Create (once) the demo organization Acme with owner admin@acme.test, team Platform and developer "
        "dev@acme.test, then revoke the previous demo key and issue a new one. Local demo data only."
    )

    def add_arguments(self, parser):
        parser.add_argument("--password", default=DEMO_PASSWORD, help="Password for newly created demo users.")

    def handle(self, *args, **options):
        with transaction.atomic():
            owner = _demo_user(OWNER_EMAIL, options["password"])
            org = Organization.objects.filter(
                name=ORG_NAME, memberships__user=owner, memberships__role=Role.OWNER
            ).first() or org_create(name=ORG_NAME, owner=owner)
            team = Team.objects.for_org(org).filter(name=TEAM_NAME).first() or team_create(
                org=org, actor=owner, name=TEAM_NAME, description="Demo team for make run."
            )
            developer = _demo_user(DEVELOPER_EMAIL, options["password"])
            membership = Membership.objects.for_org(org).filter(user=developer).first()
            if membership is None:
                membership_add(org=org, actor=owner, user=developer, role=Role.MEMBER, teams=[team])
            elif not membership.teams.filter(pk=team.pk).exists():
                membership_update(membership=membership, actor=owner, teams=[*membership.teams.all(), team])
            old_keys = list(ApiKey.objects.for_org(org).filter(user=developer, name=KEY_NAME, revoked_at__isnull=True))
            for old in old_keys:
                api_key_revoke(key=old, actor=owner)
            _, secret = api_key_create(org=org, actor=owner, user=developer, name=KEY_NAME, team=team)
        self._banner(secret, options["password"], revoked=len(old_keys))

    def _banner(self, secret: str, password: str, *, revoked: int) -> None:
        site = settings.SITE_URL.rstrip("/")
        rule = "=" * 78
        body = json.dumps(
            {"model": DEMO_MODEL, "messages": [{"role": "user", "content": "Hello"}]}, separators=(",", ":")
        )
        lines = [
            rule,
            "  Requesty demo is ready (local demo data; these credentials are not for real use)",
            rule,
            f"  Console:   {site}/",
            f"  Sign in:   {OWNER_EMAIL} / {password}   (owner of {ORG_NAME})",
            f"  Developer: {DEVELOPER_EMAIL} / {password}   (member of {ORG_NAME}, team {TEAM_NAME})",
            "             (passwords are set when a user is first created; a changed one is kept)",
            "",
            f"  Gateway key for {DEVELOPER_EMAIL}, shown once (earlier demo keys now revoked: {revoked}):",
            f"    {secret}",
            "",
            "  Try it:",
            f'    curl {site}/v1/chat/completions -H "Authorization: Bearer {secret}" \\',
            f"      -H \"Content-Type: application/json\" -d '{body}'",
            rule,
        ]
        self.stdout.write("\n".join(lines))
