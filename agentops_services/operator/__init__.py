"""The operator: informers and work queues (controller-runtime style) reconciling the six kinds
into Deployments, Jobs, Services, ConfigMaps and RBAC, with pure builders for desired state."""
