"""The resource types the operator and console work with, as API paths.

A `ResourceType` is all the generic client needs to list, watch, get, apply, patch and delete a
kind, built-in or ours, without a generated API class per kind.
"""

from __future__ import annotations

from dataclasses import dataclass

from agentops_services.api.v1alpha1 import GROUP, KINDS, VERSION


@dataclass(frozen=True)
class ResourceType:
    group: str
    """"" for the core group."""
    version: str
    plural: str
    kind: str
    namespaced: bool = True

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    def path(
        self, namespace: str | None = None, name: str | None = None, subresource: str | None = None
    ) -> str:
        """The REST path: the collection (all namespaces when `namespace` is None), an object,
        or one of its subresources."""
        base = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        if self.namespaced and namespace is not None:
            base += f"/namespaces/{namespace}"
        base += f"/{self.plural}"
        if name is not None:
            base += f"/{name}"
            if subresource is not None:
                base += f"/{subresource}"
        return base


def _ours(kind: str) -> ResourceType:
    return ResourceType(GROUP, VERSION, KINDS[kind].crd.plural, kind)


AGENT = _ours("Agent")
AGENT_RUN = _ours("AgentRun")
AGENT_TOOL = _ours("AgentTool")
AGENT_RESOURCE = _ours("AgentResource")
CHANNEL = _ours("Channel")
PROVIDER = _ours("Provider")

CONFIG_MAP = ResourceType("", "v1", "configmaps", "ConfigMap")
SECRET = ResourceType("", "v1", "secrets", "Secret")
SERVICE = ResourceType("", "v1", "services", "Service")
SERVICE_ACCOUNT = ResourceType("", "v1", "serviceaccounts", "ServiceAccount")
PVC = ResourceType("", "v1", "persistentvolumeclaims", "PersistentVolumeClaim")
POD = ResourceType("", "v1", "pods", "Pod")
EVENT = ResourceType("", "v1", "events", "Event")
NAMESPACE = ResourceType("", "v1", "namespaces", "Namespace", namespaced=False)
DEPLOYMENT = ResourceType("apps", "v1", "deployments", "Deployment")
JOB = ResourceType("batch", "v1", "jobs", "Job")
ROLE = ResourceType("rbac.authorization.k8s.io", "v1", "roles", "Role")
ROLE_BINDING = ResourceType("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding")
CLUSTER_ROLE = ResourceType("rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", False)
CLUSTER_ROLE_BINDING = ResourceType(
    "rbac.authorization.k8s.io", "v1", "clusterrolebindings", "ClusterRoleBinding", False
)
NETWORK_POLICY = ResourceType("networking.k8s.io", "v1", "networkpolicies", "NetworkPolicy")
INGRESS = ResourceType("networking.k8s.io", "v1", "ingresses", "Ingress")
LEASE = ResourceType("coordination.k8s.io", "v1", "leases", "Lease")
SELF_SUBJECT_ACCESS_REVIEW = ResourceType(
    "authorization.k8s.io", "v1", "selfsubjectaccessreviews", "SelfSubjectAccessReview", False
)
SUBJECT_ACCESS_REVIEW = ResourceType(
    "authorization.k8s.io", "v1", "subjectaccessreviews", "SubjectAccessReview", False
)

BY_KIND: dict[str, ResourceType] = {
    t.kind: t
    for t in (
        AGENT, AGENT_RUN, AGENT_TOOL, AGENT_RESOURCE, CHANNEL, PROVIDER, CONFIG_MAP, SECRET,
        SERVICE, SERVICE_ACCOUNT, PVC, POD, EVENT, NAMESPACE, DEPLOYMENT, JOB, ROLE, ROLE_BINDING,
        CLUSTER_ROLE, CLUSTER_ROLE_BINDING, NETWORK_POLICY, INGRESS, LEASE,
    )
}  # fmt: skip
"""Every type above by kind, to find the type of a built manifest."""
