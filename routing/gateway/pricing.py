"""Exact request cost from reported usage and per-million-token prices."""

from __future__ import annotations

from decimal import Decimal

from routing.gateway.catalog import Prices
from routing.providers.base import Usage

MILLION = Decimal(1_000_000)


def cost_of(usage: Usage, prices: Prices) -> Decimal:
    """USD for one request, exact: every token class at its own price, tiers by prompt size."""
    p = prices.for_input_size(usage.prompt_tokens)
    reasoning_price = p.reasoning if p.reasoning is not None else p.output
    plain_output = (
        max(usage.output_tokens - usage.reasoning_tokens, 0) if p.reasoning is not None else usage.output_tokens
    )
    reasoning = usage.reasoning_tokens if p.reasoning is not None else 0
    total = (
        usage.input_tokens * p.input
        + plain_output * p.output
        + reasoning * reasoning_price
        + usage.cache_read_tokens * p.cache_read
        + usage.cache_write_tokens * p.cache_write
    )
    return total / MILLION
