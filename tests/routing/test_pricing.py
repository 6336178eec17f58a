"""Cost arithmetic against hand-computed examples: exact decimals, every token class, tiers."""

from __future__ import annotations

from decimal import Decimal

import pytest

from routing.gateway.catalog import Prices, prices_from_tiers
from routing.gateway.pricing import cost_of
from routing.providers.base import Usage

D = Decimal


def test_plain_input_and_output():
    # gpt-4o-mini: $0.15 in, $0.60 out per MTok; 1,000 in + 500 out = 0.00015 + 0.0003
    assert cost_of(Usage(input_tokens=1000, output_tokens=500), Prices(D("0.15"), D("0.6"))) == D("0.00045")


def test_cached_and_cache_write_tokens_have_their_own_prices():
    # claude-sonnet-4-5: 3 in, 15 out, 0.3 cache read, 3.75 cache write
    usage = Usage(input_tokens=100, output_tokens=200, cache_read_tokens=10_000, cache_write_tokens=2_000)
    prices = Prices(D("3"), D("15"), D("0.3"), D("3.75"))
    # 100*3 + 200*15 + 10000*0.3 + 2000*3.75 = 300 + 3000 + 3000 + 7500 = 13800 micro-dollars
    assert cost_of(usage, prices) == D("0.0138")


def test_reasoning_tokens_billed_as_output_unless_priced():
    usage = Usage(input_tokens=0, output_tokens=1000, reasoning_tokens=800)
    assert cost_of(usage, Prices(D("1"), D("4"))) == D("0.004")
    # With a reasoning price, 200 plain output at 4 and 800 reasoning at 2: 800 + 1600 = 2400 micro
    assert cost_of(usage, Prices(D("1"), D("4"), reasoning=D("2"))) == D("0.0024")


def test_tiny_amounts_stay_exact():
    # One token at $0.075/MTok is 7.5e-8 dollars: no float, no rounding to zero.
    cost = cost_of(Usage(input_tokens=1), Prices(D("0.075")))
    assert cost == D("0.000000075") and format(cost, "f") == "0.000000075"
    assert sum(cost_of(Usage(input_tokens=1), Prices(D("0.1"))) for _ in range(10)) == D("0.000001")


@pytest.mark.parametrize(
    "prompt,expected",
    [
        (200_000, D("0.6") + D("1.5")),  # at the threshold: base prices (3 in, 15 out)
        (200_001, D("1.200006") + D("2.25")),  # above it: every token at the tier (6 in, 22.5 out)
    ],
)
def test_cliff_tiers_by_prompt_size(prompt, expected):
    prices = prices_from_tiers(
        Prices(D("3"), D("15"), D("0.3"), D("3.75")),
        [{"above": 200000, "input": "6", "output": "22.5", "cache_read": "0.6"}],
    )
    assert cost_of(Usage(input_tokens=prompt, output_tokens=100_000), prices) == expected


def test_zero_usage_costs_zero():
    assert cost_of(Usage(), Prices(D("5"), D("25"))) == 0
