"""Template filters for usage pages: amounts of money, always from Decimal, never through a float."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from django import template

register = template.Library()

SIX_PLACES = Decimal("0.000001")


@register.filter
def usd(value: Decimal | None) -> str:
    """Dollars rounded to at most six decimals, at least two: $1,234.50, $0.000075, and <$0.000001 for dust."""
    amount = Decimal(value or 0)
    rounded = amount.quantize(SIX_PLACES, rounding=ROUND_HALF_UP)
    if amount > 0 and not rounded:
        return "<$0.000001"
    whole, _, fraction = format(rounded, "f").partition(".")
    return f"${int(whole):,}.{fraction.rstrip('0').ljust(2, '0')}"


@register.filter
def exact(value: Decimal | None) -> str:
    """A Decimal in full precision without trailing zeros: 1.350000075, 0."""
    return format(Decimal(value or 0).normalize(), "f")
