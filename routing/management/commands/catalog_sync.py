"""Seed providers and models (with prices) from genai-prices."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from routing.services import catalog_sync


class Command(BaseCommand):
    help = "Create the supported providers and every model genai-prices prices for them."

    def add_arguments(self, parser):
        parser.add_argument("--update-prices", action="store_true", help="Overwrite prices of existing models.")

    def handle(self, *args, **options):
        counts = catalog_sync(update_prices=options["update_prices"])
        self.stdout.write(
            f"Catalog: {counts['providers']} providers, {counts['created']} models added, {counts['updated']} updated."
        )
