"""`nvidia-smi -q`: the indented "Key : value" report.

The text is read into a tree by indentation first, so a key is looked up under its section ("FB
Memory Usage" / "Total") rather than by guessing from line order. GPUs are listed in index order;
"Minor Number" is the device node number, not the index, and is N/A under Windows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from gpuctl.probe.parse.common import Parsed, ParseError, clean_text, optional, to_bytes, to_int
from gpuctl.probe.parse.nvidia_records import GpuRecord, MigRecord, NvidiaReport, ProcessRecord

_LINE = re.compile(r"^(\s*)(\S.*?)(?:\s+:\s?(.*))?$")
_GPU = re.compile(r"^GPU ([0-9A-Fa-f]{4,8}:[0-9A-Fa-f]{2}:[0-9A-Fa-f]{2}\.[0-9A-Fa-f])$")


@dataclass
class Node:
    key: str
    value: str | None = None
    children: list[Node] = field(default_factory=list)

    def get(self, *path: str) -> str | None:
        """The value at `path` below this node ("FB Memory Usage", "Total")."""
        node: Node | None = self
        for key in path:
            node = next((c for c in node.children if c.key == key), None) if node else None
        return node.value if node else None

    def all(self, key: str) -> list[Node]:
        return [c for c in self.children if c.key == key]


def _tree(text: str) -> Node:
    root = Node("")
    stack: list[tuple[int, Node]] = [(-1, root)]
    for line in clean_text(text).split("\n"):
        match = _LINE.match(line)
        if not match or line.strip().startswith("="):
            continue
        indent, key, value = len(match[1]), match[2].strip(), match[3]
        node = Node(key, value.strip() if value is not None else None)
        while stack[-1][0] >= indent:
            stack.pop()
        stack[-1][1].children.append(node)
        stack.append((indent, node))
    return root


def _version(value: str | None) -> str | None:
    """ "610.62 [Deprecated; ...]" → "610.62"."""
    text = optional(value)
    return text.split()[0] if text else None


def parse_q_text(text: str) -> Parsed[NvidiaReport]:
    root = _tree(text)
    gpu_nodes = [(n, m[1]) for n in root.children if (m := _GPU.match(n.key))]
    if not gpu_nodes and not root.get("Driver Version"):
        raise ParseError("nvidia-smi -q", "no 'Driver Version' and no GPU section")
    warnings: list[str] = []
    gpus, migs, processes = [], [], []
    for index, (node, bus_id) in enumerate(gpu_nodes):
        mig = optional(node.get("MIG Mode", "Current"))
        total = to_bytes(node.get("FB Memory Usage", "Total"))
        if total is None:
            warnings.append(f"`nvidia-smi -q`: GPU {index} has no FB memory total")
        gpus.append(
            GpuRecord(
                index=index,
                name=optional(node.get("Product Name")),
                uuid=optional(node.get("GPU UUID")),
                memory_total=total,
                memory_used=to_bytes(node.get("FB Memory Usage", "Used")),
                driver_version=_version(root.get("Driver Version")),
                mig_enabled=None if mig is None else mig.lower() == "enabled",
                bus_id=bus_id,
            )
        )
        for position, mig_node in enumerate(node.all("MIG Device")):
            memory = "Shared FB Memory Usage" if mig_node.all("Shared FB Memory Usage") else "FB Memory Usage"
            mig_index = to_int(mig_node.get("Index"))
            migs.append(
                MigRecord(
                    gpu=index,
                    index=position if mig_index is None else mig_index,
                    gpu_instance=to_int(mig_node.get("GPU Instance ID")),
                    compute_instance=to_int(mig_node.get("Compute Instance ID")),
                    memory_total=to_bytes(mig_node.get(memory, "Total")),
                    memory_used=to_bytes(mig_node.get(memory, "Used")),
                )
            )
        for block in node.all("Processes"):
            processes.extend(_processes(block, index))
    report = NvidiaReport(
        driver_version=_version(root.get("Driver Version")),
        cuda_version=_version(root.get("CUDA Version")) or _version(root.get("CUDA UMD Version")),
        gpus=gpus,
        migs=migs,
        processes=processes,
    )
    return Parsed(report, warnings)


def _processes(block: Node, gpu: int) -> list[ProcessRecord]:
    """A Processes section lists "GPU instance ID", "Compute instance ID", then "Process ID" with
    the process's own fields indented below it, once per process."""
    found = []
    gpu_instance = compute_instance = None
    for child in block.children:
        if child.key == "GPU instance ID":
            gpu_instance = to_int(child.value)
        elif child.key == "Compute instance ID":
            compute_instance = to_int(child.value)
        elif child.key == "Process ID" and (pid := to_int(child.value)) is not None:
            found.append(
                ProcessRecord(
                    pid=pid,
                    name=optional(child.get("Name")) or "",
                    gpu_index=gpu,
                    gpu_instance=gpu_instance,
                    compute_instance=compute_instance,
                    used_memory=to_bytes(child.get("Used GPU Memory")),
                )
            )
    return found
