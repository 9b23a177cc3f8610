"""The contract shared by every component: pydantic models, no I/O.

`v1alpha1` holds the six custom resources; `fep` the runtime's event stream; `memory` the memory
service API; `runtime_config` the agent runtime's config.json. The CRDs in crds/ are generated
from these models (`agentops crds generate`), never edited by hand.
"""
