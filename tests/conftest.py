"""Standing fixtures: one organization with a user per role, and an outsider in another org."""

from __future__ import annotations

import pytest

from orgs.models import ApiKeyKind, Role
from tests.factories import PASSWORD, MembershipFactory, OrganizationFactory, TeamFactory, UserFactory, make_key


@pytest.fixture
def org(db):
    return OrganizationFactory(name="Acme")


@pytest.fixture
def other_org(db):
    return OrganizationFactory(name="Globex")


def _member(org, role, email):
    user = UserFactory(email=email)
    MembershipFactory(org=org, user=user, role=role)
    return user


@pytest.fixture
def owner(org):
    return _member(org, Role.OWNER, "owner@acme.test")


@pytest.fixture
def admin(org):
    return _member(org, Role.ADMIN, "admin@acme.test")


@pytest.fixture
def billing_user(org):
    return _member(org, Role.BILLING, "billing@acme.test")


@pytest.fixture
def member(org):
    return _member(org, Role.MEMBER, "member@acme.test")


@pytest.fixture
def viewer(org):
    return _member(org, Role.VIEWER, "viewer@acme.test")


@pytest.fixture
def outsider(other_org):
    return _member(other_org, Role.OWNER, "outsider@globex.test")


@pytest.fixture
def team(org):
    return TeamFactory(org=org, name="Platform")


@pytest.fixture
def other_team(other_org):
    return TeamFactory(org=other_org, name="Globex team")


@pytest.fixture
def login(client):
    """Log a user into the Django test client."""

    def _login(user):
        assert client.login(email=user.email, password=PASSWORD)
        return client

    return _login


@pytest.fixture
def management_token(owner, org):
    """A management API key for the owner."""
    _, secret = make_key(org=org, user=owner, name="mgmt", kind=ApiKeyKind.MANAGEMENT)
    return secret
