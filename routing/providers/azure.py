"""Azure OpenAI: the OpenAI wire format behind per-deployment URLs and an api-key header."""

from __future__ import annotations

from .base import Deployment
from .openai import OpenAIAdapter

DEFAULT_API_VERSION = "2024-10-21"


class AzureAdapter(OpenAIAdapter):
    """OpenAI adapter addressing an Azure resource; dep.model is the Azure deployment name."""

    wire = "azure"

    def _deployment_url(self, dep: Deployment, operation: str) -> str:
        version = dep.api_version or DEFAULT_API_VERSION
        return dep.url(f"openai/deployments/{dep.model}/{operation}?api-version={version}")

    def chat_url(self, dep: Deployment) -> str:
        """Where chat completions are posted."""
        return self._deployment_url(dep, "chat/completions")

    def embeddings_url(self, dep: Deployment) -> str:
        """Where embeddings are posted."""
        return self._deployment_url(dep, "embeddings")

    def headers(self, dep: Deployment) -> dict[str, str]:
        """Azure authenticates with api-key, not Authorization."""
        return {"content-type": "application/json", "accept": "application/json", "api-key": dep.api_key}
