"""allauth hooks: after sign-up a user without an organization gets one."""

from __future__ import annotations

from allauth.account.adapter import DefaultAccountAdapter
from django.urls import reverse


class AccountAdapter(DefaultAccountAdapter):
    """Sends new users to the onboarding page when they belong to no organization."""

    def get_login_redirect_url(self, request):
        nxt = super().get_login_redirect_url(request)
        if not request.user.memberships.exists() and "/invitations/" not in (nxt or ""):
            return reverse("orgs:onboarding")
        return nxt

    def get_signup_redirect_url(self, request):
        return self.get_login_redirect_url(request)
