"""The labels that make a container gpuctl's.

What gpuctl owns on a host is exactly the set of containers carrying `MANAGED=true` (DESIGN §4):
there is no state file. Containers without it are never inspected further, stopped or removed.
"""

PREFIX = "gpuctl."
MANAGED = "gpuctl.managed"
CLUSTER = "gpuctl.cluster"
DEPLOYMENT = "gpuctl.deployment"
REPLICA = "gpuctl.replica"
ROLE = "gpuctl.role"
"""main, or leader/worker-N for a replica spanning hosts."""
SPEC_HASH = "gpuctl.spec-hash"
"""Stable hash of everything that defines the container; drift is a hash comparison."""
DEVICES = "gpuctl.devices"
"""Comma-separated device keys the container holds, e.g. "0,1" or "0/1"."""
MEMORY = "gpuctl.memory"
"""Bytes of device memory claimed per device (one integer applying to each device in DEVICES), so
the planner accounts for it without trusting live memory.used while a model loads."""
PORT = "gpuctl.port"
BACKEND = "gpuctl.backend"
"""Backend name: vllm, sglang, mindie, voxbox, llama-box."""
SERVED_NAME = "gpuctl.served-name"
READINESS_PATH = "gpuctl.readiness-path"
"""HTTP path apply and `gpuctl status` poll on PORT to know the backend serves."""
SPEC = "gpuctl.spec"
"""The container's canonical ContainerSpec as compact JSON (labels left out, file contents by
digest, secret values never present: `gpuctl.plan.explain.spec_label`), so a plan can say *what*
changed, not only that the hash did. Like SPEC_HASH, apply adds it when it starts a container."""
