"""Accounts through allauth: sign-up, switchable email verification, password reset."""

from __future__ import annotations

import re

from django.core import mail
from django.urls import reverse

from orgs.models import Membership, User
from tests.factories import PASSWORD

NEW_PASSWORD = "a-much-better-passphrase"


def signup(client, email="new@example.com"):
    return client.post(
        reverse("account_signup"), {"email": email, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    )


def test_signup_without_verification_goes_to_onboarding_then_creates_an_org(client, db, settings):
    settings.ACCOUNT_EMAIL_VERIFICATION = "none"
    response = signup(client)
    assert response.status_code == 302 and response["Location"] == reverse("orgs:onboarding")
    response = client.post(reverse("orgs:onboarding"), {"name": "Initech"})
    assert response.status_code == 302
    membership = Membership.objects.get(user__email="new@example.com")
    assert membership.org.name == "Initech" and membership.role == "owner"


def test_mandatory_verification_blocks_login_until_the_emailed_link_is_followed(client, db, settings):
    settings.ACCOUNT_EMAIL_VERIFICATION = "mandatory"
    response = signup(client)
    assert response.status_code == 302 and "confirm-email" in response["Location"]
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["new@example.com"]
    client.logout()
    response = client.post(reverse("account_login"), {"login": "new@example.com", "password": NEW_PASSWORD})
    assert response.status_code == 302 and "confirm-email" in response["Location"]
    assert not client.get(reverse("orgs:dashboard")).wsgi_request.user.is_authenticated

    link = re.search(r"https?://\S+/confirm-email/\S+/", mail.outbox[-1].body).group(0)
    path = link.split("://", 1)[1].split("/", 1)[1]
    assert client.post("/" + path).status_code == 302
    response = client.post(reverse("account_login"), {"login": "new@example.com", "password": NEW_PASSWORD})
    assert response.status_code == 302
    assert client.get(reverse("orgs:onboarding")).wsgi_request.user.is_authenticated


def test_password_reset_by_email(client, owner):
    response = client.post(reverse("account_reset_password"), {"email": owner.email})
    assert response.status_code == 302 and len(mail.outbox) == 1
    link = re.search(r"https?://\S+/password/reset/key/\S+/", mail.outbox[0].body).group(0)
    path = "/" + link.split("://", 1)[1].split("/", 1)[1]
    form_url = client.get(path, follow=True).redirect_chain[-1][0] if client.get(path).status_code == 302 else path
    response = client.post(form_url, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
    assert response.status_code == 302
    owner.refresh_from_db()
    assert owner.check_password(NEW_PASSWORD) and not owner.check_password(PASSWORD)
    assert User.objects.filter(email=owner.email).count() == 1
