"""The batch client of an endpoint, from its provider family (`spec_pytest.providers.families`).

The adapters themselves (OpenAI Batch, Anthropic Message Batches) belong to their families
(`spec_pytest.providers.openai_batch`, `spec_pytest.providers.anthropic_batch`), behind the
protocol of `spec_pytest.providers.batch`. An endpoint whose family is unknown, or has no
batch API, is an error here: never another family's batch API.
"""

from __future__ import annotations

from spec_pytest.providers import MissingKeyError, Registry
from spec_pytest.providers.base import DEFAULT_HEADERS, NO_KEY
from spec_pytest.providers.batch import BatchApi, BatchStatus
from spec_pytest.providers.errors import UnsupportedParameterError

__all__ = ["BatchApi", "BatchStatus", "batch_api"]


def batch_api(registry: Registry, endpoint_name: str) -> BatchApi:
    """The batch client for an endpoint of the registry (its base URL, its key variable)."""
    endpoint = registry.endpoint(endpoint_name)
    family = endpoint.family
    key = endpoint.api_key(registry.environ)
    if key is None and endpoint.key_required and endpoint.key_env is not None:
        raise MissingKeyError(f"{endpoint_name} (batch)", endpoint.key_env)
    options = {
        "api_key": key or NO_KEY,
        "base_url": endpoint.base_url,
        "max_retries": 2,
        # uploads and result files are large: the endpoint's `timeout:`, else the run's deadline
        "timeout": endpoint.timeout_s or registry.bounds.deadline_s,
        "default_headers": dict(DEFAULT_HEADERS),
    }
    api = family.batch_api(endpoint, options)
    if api is None:
        raise UnsupportedParameterError(
            f"endpoint {endpoint_name!r} ({family.name}) has no batch API: run its models without --batch"
        )
    return api
