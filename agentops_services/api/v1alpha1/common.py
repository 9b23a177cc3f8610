"""Types shared by several kinds: secret references, security overrides, resources."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from agentops_services.api.model import ApiModel, Quantity

ImagePullPolicy = Literal["Always", "IfNotPresent", "Never"]

ENV_NAME_PATTERN = r"^[-._a-zA-Z][-._a-zA-Z0-9]*$"

Name = Annotated[str, Field(min_length=1, max_length=253)]
"""The name of another object in the same namespace."""

ShortText = Annotated[str, Field(max_length=512)]
"""A list item that CEL rules inspect; bounded so the API server can bound the rules' cost."""


class SecretKeyRef(ApiModel):
    """A key of a Secret (or, where a field says so, of a ConfigMap) in the same namespace."""

    name: Name
    """Name of the Secret or ConfigMap."""
    key: str = Field(min_length=1, max_length=253)
    """Key inside its data."""


class SecretEnvVar(ApiModel):
    """An environment variable whose value comes from a Secret key."""

    name: str = Field(min_length=1, max_length=253, pattern=ENV_NAME_PATTERN)
    """Environment variable name."""
    secret_ref: SecretKeyRef
    """The Secret key holding the value."""


class SeccompProfile(ApiModel):
    """The seccomp profile of a pod or container."""

    type: Literal["RuntimeDefault", "Localhost", "Unconfined"]
    """RuntimeDefault, Localhost or Unconfined (Unconfined is refused by the security floor)."""
    localhost_profile: str | None = None
    """Profile file on the node, for type Localhost."""


class SELinuxOptions(ApiModel):
    """SELinux labels applied to a pod or container."""

    user: str | None = None
    """SELinux user label."""
    role: str | None = None
    """SELinux role label."""
    type: str | None = None
    """SELinux type label."""
    level: str | None = None
    """SELinux level label."""


class AppArmorProfile(ApiModel):
    """The AppArmor profile of a pod or container."""

    type: Literal["RuntimeDefault", "Localhost", "Unconfined"]
    """RuntimeDefault, Localhost or Unconfined."""
    localhost_profile: str | None = None
    """Profile loaded on the node, for type Localhost."""


class Sysctl(ApiModel):
    """A namespaced kernel parameter set for the pod."""

    name: str
    """Parameter name."""
    value: str
    """Parameter value."""


class PodSecurityContext(ApiModel):
    """Pod-level security settings (a subset of Kubernetes' PodSecurityContext)."""

    run_as_user: int | None = None
    """UID to run the entrypoint of every container."""
    run_as_group: int | None = None
    """GID to run the entrypoint of every container."""
    run_as_non_root: bool | None = None
    """Require containers to run as a non-root user."""
    fs_group: int | None = None
    """Supplemental group applied to volumes."""
    fs_group_change_policy: Literal["OnRootMismatch", "Always"] | None = None
    """When volume ownership is changed to fsGroup."""
    supplemental_groups: list[int] | None = Field(None, max_length=64)
    """Extra groups for the first process of every container."""
    seccomp_profile: SeccompProfile | None = None
    """Seccomp profile for all containers."""
    se_linux_options: SELinuxOptions | None = Field(None, alias="seLinuxOptions")
    """SELinux context for all containers."""
    app_armor_profile: AppArmorProfile | None = None
    """AppArmor profile for all containers."""
    sysctls: list[Sysctl] | None = Field(None, max_length=32)
    """Namespaced sysctls."""


class Capabilities(ApiModel):
    """Linux capabilities to add or drop."""

    add: list[str] | None = Field(None, max_length=64)
    """Capabilities to add (refused by the security floor)."""
    drop: list[str] | None = Field(None, max_length=64)
    """Capabilities to drop (ALL and NET_RAW are always dropped)."""


class SecurityContext(ApiModel):
    """Container-level security settings (a subset of Kubernetes' SecurityContext)."""

    allow_privilege_escalation: bool | None = None
    """Whether a process can gain more privileges than its parent."""
    privileged: bool | None = None
    """Run the container privileged."""
    read_only_root_filesystem: bool | None = None
    """Mount the container's root filesystem read-only."""
    run_as_non_root: bool | None = None
    """Require the container to run as a non-root user."""
    run_as_user: int | None = None
    """UID to run the entrypoint."""
    run_as_group: int | None = None
    """GID to run the entrypoint."""
    capabilities: Capabilities | None = None
    """Capabilities to add or drop."""
    seccomp_profile: SeccompProfile | None = None
    """Seccomp profile of the container."""
    se_linux_options: SELinuxOptions | None = Field(None, alias="seLinuxOptions")
    """SELinux context of the container."""
    app_armor_profile: AppArmorProfile | None = None
    """AppArmor profile of the container."""
    proc_mount: Literal["Default", "Unmasked"] | None = None
    """Type of /proc mount."""


class SecurityOverrides(ApiModel):
    """Overrides of the restricted security floor; unsafe values are refused and reported."""

    pod: PodSecurityContext | None = None
    """Merged into the pod security context."""
    container: SecurityContext | None = None
    """Merged into the main container's security context."""
    automount_service_account_token: bool | None = None
    """Mount the service account token (needed for delegation and run_finish)."""


class ResourceClaim(ApiModel):
    """A dynamic resource claim used by the container."""

    name: str
    """Name of an entry in the pod's resourceClaims."""
    request: str | None = None
    """Request within the claim."""


class ResourceRequirements(ApiModel):
    """Compute resources of a container."""

    limits: dict[str, Quantity] | None = None
    """Maximum amount of each resource (cpu, memory, ephemeral-storage, ...)."""
    requests: dict[str, Quantity] | None = None
    """Minimum amount of each resource the scheduler reserves."""
    claims: list[ResourceClaim] | None = Field(None, max_length=16)
    """Dynamic resource claims used by the container."""
