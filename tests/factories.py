"""Factories for tenancy objects; keys are issued through the real service."""

from __future__ import annotations

import factory

from orgs.models import ApiKeyKind, Membership, Organization, Role, Team, User
from orgs.services import api_key_create

PASSWORD = "correct-horse-battery"


class UserFactory(factory.django.DjangoModelFactory):
    """A user who can log in with PASSWORD."""

    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class OrganizationFactory(factory.django.DjangoModelFactory):
    """An organization."""

    class Meta:
        model = Organization

    name = factory.Sequence(lambda n: f"Org {n}")
    slug = factory.Sequence(lambda n: f"org-{n}")


class TeamFactory(factory.django.DjangoModelFactory):
    """A team."""

    class Meta:
        model = Team

    org = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Team {n}")


class MembershipFactory(factory.django.DjangoModelFactory):
    """A membership."""

    class Meta:
        model = Membership

    org = factory.SubFactory(OrganizationFactory)
    user = factory.SubFactory(UserFactory)
    role = Role.MEMBER


def make_key(*, org, user, name="test key", team=None, kind=ApiKeyKind.GATEWAY, expires_at=None):
    """Issue a key through the service (its owner joins the key's team first); returns (ApiKey, plaintext)."""
    if team is not None:
        membership = Membership.objects.filter(org=org, user=user).first()
        if membership is not None:
            membership.teams.add(team)
    return api_key_create(org=org, actor=user, user=user, name=name, team=team, kind=kind, expires_at=expires_at)
