"""`createorg NAME --owner EMAIL`: an organization, its owner (created if missing) and a first gateway key."""

from __future__ import annotations

import secrets

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.core.validators import validate_email
from django.db import transaction

from orgs.models import User
from orgs.services import api_key_create, org_create


def validation_message(exc: ValidationError) -> str:
    """A service or validator error as one line for the terminal."""
    if hasattr(exc, "message_dict"):
        return "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in exc.message_dict.items())
    return " ".join(exc.messages)


class Command(BaseCommand):
    help = "Create an organization with an owner (created if missing) and print a gateway API key once."

    def add_arguments(self, parser):
        parser.add_argument("name", help="The organization's name.")
        parser.add_argument("--owner", required=True, help="The owner's email; the user is created if missing.")
        parser.add_argument("--password", help="Password for a new owner (default: a random one, printed once).")

    def handle(self, *args, name: str, owner: str, password: str | None, **options):
        name = name.strip()
        email = User.objects.normalize_email(owner).strip().lower()
        if not name:
            raise CommandError("The organization needs a name.")
        try:
            validate_email(email)
        except ValidationError:
            raise CommandError(f"Not a valid email address: {owner!r}.") from None
        user = User.objects.filter(email__iexact=email).first()
        existed = user is not None
        generated = None if existed or password else secrets.token_urlsafe(12)
        if not existed:
            try:
                validate_password(password or generated, User(email=email))
            except ValidationError as exc:
                raise CommandError(f"Password rejected: {validation_message(exc)}") from None
        try:
            with transaction.atomic():
                if not existed:
                    user = User.objects.create_user(email=email, password=password or generated)
                org = org_create(name=name, owner=user)
                key, plaintext = api_key_create(org=org, actor=user, user=user, name="Default key")
        except ValidationError as exc:
            raise CommandError(validation_message(exc)) from None

        self.stdout.write(self.style.SUCCESS(f"Created organization {org.name} (slug {org.slug}, id {org.pk})."))
        self.stdout.write(f"Owner: {user.email}" + (" (existing user)" if existed else " (new user)"))
        if generated:
            self.stdout.write(f"Password (shown once): {generated}")
        if existed and password:
            self.stdout.write(self.style.WARNING("The user already existed; --password was ignored."))
        self.stdout.write(f"Gateway API key (shown once): {plaintext}")
