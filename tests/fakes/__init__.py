"""Test doubles for upstream LLM providers."""

from __future__ import annotations
