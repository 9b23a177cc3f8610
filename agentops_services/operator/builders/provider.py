"""Provider status: ConfigValid, SecretReady, the phase and its one-line message (§4.6).

The type-consistency rules live once, as the CRD's CEL rules on `ProviderSpec`; here they are
evaluated again in-process (`api.validation.cel_errors`), because the API server checks them
only on create and update, so an object stored before a rule existed must still get an honest
condition. The operator adds what CEL cannot see: whether the referenced Secrets and keys exist,
for the API key and, unlike upstream, for the OAuth2 client id and secret too.

Secret values never reach this module: the controller passes only the names of the keys that
hold a non-empty value (`SecretLookup.of`), so no message can leak one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from agentops_services.api.v1alpha1.agent import Agent
from agentops_services.api.v1alpha1.common import SecretKeyRef
from agentops_services.api.v1alpha1.provider import Provider, ProviderPhase
from agentops_services.api.validation import cel_errors
from agentops_services.operator.builders.conditions import DesiredCondition, condition

CONFIG_VALID = "ConfigValid"
SECRET_READY = "SecretReady"


@dataclass(frozen=True)
class SecretLookup:
    """What the controller found when it read one Secret."""

    keys: frozenset[str] | None
    """Keys holding a non-empty value; None when the Secret could not be read."""
    error: str | None = None
    """Why it could not be read, other than not existing (forbidden, timeout)."""

    @classmethod
    def of(cls, data: Mapping[str, str | bytes | None] | None) -> SecretLookup:
        """From a Secret's `.data`, keeping key names only."""
        return cls(frozenset(key for key, value in (data or {}).items() if value))

    @classmethod
    def not_found(cls) -> SecretLookup:
        return cls(None)

    @classmethod
    def failed(cls, error: str) -> SecretLookup:
        return cls(None, error)


def secret_refs(provider: Provider) -> list[tuple[str, SecretKeyRef]]:
    """(field, reference) of every Secret key the provider needs; the controller reads each
    distinct Secret name and passes the results to `secret_condition`."""
    spec = provider.spec
    refs: list[tuple[str, SecretKeyRef]] = []
    if spec.api_key_secret is not None:
        refs.append(("spec.apiKeySecret", spec.api_key_secret))
    oauth = spec.endpoint.oauth2_client_credentials if spec.endpoint else None
    if oauth is not None:
        field = "spec.endpoint.oauth2ClientCredentials"
        refs.append((f"{field}.clientIdSecret", oauth.client_id_secret))
        refs.append((f"{field}.clientSecretSecret", oauth.client_secret_secret))
    return refs


def config_issues(provider: Provider) -> list[str]:
    """Every type-consistency problem, as `field: reason` (empty when the config is valid)."""
    return [str(error) for error in cel_errors(provider.spec, path=("spec",))]


def config_condition(provider: Provider) -> DesiredCondition:
    """ConfigValid: all issues in the message (upstream showed only the first)."""
    issues = config_issues(provider)
    if issues:
        return condition(CONFIG_VALID, "False", "InvalidConfig", "; ".join(issues))
    return condition(
        CONFIG_VALID, "True", "Valid", f"Config is valid for type {provider.spec.type}"
    )


def secret_condition(provider: Provider, lookups: Mapping[str, SecretLookup]) -> DesiredCondition:
    """SecretReady from the Secrets read by name; a Secret absent from `lookups` counts as not
    found. The first failing reference decides the reason."""
    refs = secret_refs(provider)
    if not refs:
        return condition(
            SECRET_READY,
            "True",
            "NotApplicable",
            "No Secret referenced: credentials come from the environment (Vertex, Bedrock) "
            "or the endpoint needs none",
        )
    for field, ref in refs:
        problem = _secret_problem(field, ref, lookups.get(ref.name, SecretLookup.not_found()))
        if problem is not None:
            return problem
    found = ", ".join(sorted({f'"{ref.name}"' for _, ref in refs}))
    return condition(SECRET_READY, "True", "SecretExists", f"Secret {found} has every key needed")


def _secret_problem(field: str, ref: SecretKeyRef, lookup: SecretLookup) -> DesiredCondition | None:
    if lookup.error is not None:
        return condition(
            SECRET_READY,
            "False",
            "SecretError",
            f'Secret "{ref.name}" ({field}) could not be read: {lookup.error}',
        )
    if lookup.keys is None:
        return condition(
            SECRET_READY, "False", "SecretNotFound", f'Secret "{ref.name}" ({field}) not found'
        )
    if ref.key not in lookup.keys:
        return condition(
            SECRET_READY,
            "False",
            "KeyNotFound",
            f'Secret "{ref.name}" has no non-empty key "{ref.key}" ({field})',
        )
    return None


@dataclass(frozen=True)
class ProviderVerdict:
    """Everything the Provider controller writes to status, except boundAgents."""

    phase: ProviderPhase
    message: str
    conditions: tuple[DesiredCondition, DesiredCondition]


def evaluate_provider(provider: Provider, lookups: Mapping[str, SecretLookup]) -> ProviderVerdict:
    """Phase Ready iff config and secrets are; the message names what is wrong first."""
    config = config_condition(provider)
    secret = secret_condition(provider, lookups)
    conditions = (config, secret)
    if config["status"] != "True":
        return ProviderVerdict("Failed", f"Config invalid: {config['message']}", conditions)
    if secret["status"] != "True":
        return ProviderVerdict("Failed", f"Secret not ready: {secret['message']}", conditions)
    message = f'Provider "{provider.name}" ({provider.spec.type}) is ready'
    return ProviderVerdict("Ready", message, conditions)


def bound_agents(provider_name: str, agents: Iterable[Agent]) -> int:
    """status.boundAgents: Agents (of the provider's namespace) listing it in providerRefs."""
    return sum(
        1 for agent in agents if any(ref.name == provider_name for ref in agent.spec.provider_refs)
    )
