"""Provider adapters: each wire format translated to and from the OpenAI Chat Completions format."""

from __future__ import annotations

from .anthropic import AnthropicAdapter
from .azure import AzureAdapter
from .base import (
    Adapter,
    ChatStream,
    Deployment,
    ProviderError,
    Usage,
    usage_from_anthropic,
    usage_from_gemini,
    usage_from_openai,
    usage_to_anthropic,
    usage_to_openai,
)
from .demo import DemoAdapter
from .gemini import GeminiAdapter
from .openai import OpenAIAdapter

WIRES = ("openai", "anthropic", "gemini", "azure", "demo")

# Adapters hold no per-request state, so one instance per wire format is shared.
_ADAPTERS: dict[str, Adapter] = {
    "openai": OpenAIAdapter(),
    "anthropic": AnthropicAdapter(),
    "gemini": GeminiAdapter(),
    "azure": AzureAdapter(),
    "demo": DemoAdapter(),
}


def get_adapter(wire: str) -> Adapter:
    """The adapter for a wire format; raises KeyError for an unknown one."""
    try:
        return _ADAPTERS[wire]
    except KeyError:
        raise KeyError(f"Unknown wire format {wire!r}; expected one of {', '.join(WIRES)}") from None


__all__ = [
    "WIRES",
    "Adapter",
    "AnthropicAdapter",
    "AzureAdapter",
    "ChatStream",
    "DemoAdapter",
    "Deployment",
    "GeminiAdapter",
    "OpenAIAdapter",
    "ProviderError",
    "Usage",
    "get_adapter",
    "usage_from_anthropic",
    "usage_from_gemini",
    "usage_from_openai",
    "usage_to_anthropic",
    "usage_to_openai",
]
