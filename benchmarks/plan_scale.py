"""Plan at fleet scale: 1,000 hosts × 8 devices, 2,000 deployments, offline from a snapshot.

Generates, in a temporary directory (or --keep DIR): a Cluster of 1,000 hosts (600 with 8 × H100
80GB, 400 with 8 × L40S 48GB, labelled gpu=h100 / gpu=l40s), an inventory snapshot of them (idle
devices), 2,000 ModelDeployments drawn from a realistic mix (vLLM at the default memory fraction
and at smaller ones, tensor-parallel 70B models, embedding models, GGUF models on llama-box,
Whisper on VoxBox; each selects one GPU kind) and a gpuctl.lock holding their models, built from
the real configs in tests/data/models and the example lock. Then it times the plan the way
`gpuctl plan --inventory-snapshot` makes it, stage by stage, and compares the devices used with
lower bounds on the devices any placement needs; then it plans again from the snapshot apply
would leave (every container running, labelled) — there must be nothing to do:

- L1: total claimed memory ÷ device memory (per GPU kind);
- L2: Martello and Toth's bound for bin packing, which also counts items larger than half a
  device that cannot share one (every vLLM replica at the default 0.9 memory fraction is one).
  A replica on k devices counts as k items (dropping "on one host" only lowers the bound).

Run: `python benchmarks/plan_scale.py [--seed N] [--repeat N] [--keep DIR]`. It prints figures; it asserts
nothing.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gpuctl.facts import Device, DockerInfo, HostFacts, HostInfo, Inventory  # noqa: E402
from gpuctl.models.config import model_info_from_config  # noqa: E402
from gpuctl.models.lock import Lock, load_lock, lookup, write_lock  # noqa: E402
from gpuctl.spec.models import ModelSource  # noqa: E402

MiB, GiB = 1 << 20, 1 << 30
HOSTS, DEVICES, DEPLOYMENTS = 1000, 8, 2000
KINDS = {  # label → (product as nvidia-smi prints it, memory.total MiB, compute capability, hosts)
    "h100": ("NVIDIA H100 80GB HBM3", 81559, "9.0", 600),
    "l40s": ("NVIDIA L40S", 46068, "8.9", 400),
}
MODELS = {  # config file in tests/data/models → repository id
    "Qwen__Qwen3-8B": "Qwen/Qwen3-8B",
    "Qwen__Qwen3-32B": "Qwen/Qwen3-32B",
    "meta-llama__Llama-3.1-8B-Instruct": "meta-llama/Llama-3.1-8B-Instruct",
    "meta-llama__Llama-3.1-70B-Instruct": "meta-llama/Llama-3.1-70B-Instruct",
    "mistralai__Mistral-7B-Instruct-v0.3": "mistralai/Mistral-7B-Instruct-v0.3",
    "Qwen__Qwen3-Embedding-0.6B": "Qwen/Qwen3-Embedding-0.6B",
    "Qwen__Qwen3-Embedding-8B": "Qwen/Qwen3-Embedding-8B",
    "Qwen__Qwen3-30B-A3B": "Qwen/Qwen3-30B-A3B",
}
MIX = [  # (weight, model source, parameters)
    (18, {"huggingface": "Qwen/Qwen3-8B"}, []),
    (10, {"huggingface": "meta-llama/Llama-3.1-8B-Instruct"}, ["--gpu-memory-utilization=0.45"]),
    (8, {"huggingface": "mistralai/Mistral-7B-Instruct-v0.3"}, ["--gpu-memory-utilization=0.3"]),
    (8, {"huggingface": "Qwen/Qwen3-32B"}, []),
    (6, {"huggingface": "meta-llama/Llama-3.1-70B-Instruct"}, []),
    (6, {"huggingface": "Qwen/Qwen3-30B-A3B"}, []),
    (10, {"huggingface": "Qwen/Qwen3-Embedding-0.6B"}, ["--gpu-memory-utilization=0.12"]),
    (6, {"huggingface": "Qwen/Qwen3-Embedding-8B"}, ["--gpu-memory-utilization=0.5"]),
    (14, {"huggingface": "Qwen/Qwen3-8B-GGUF", "file": "Qwen3-8B-Q4_K_M.gguf"}, []),
    (14, {"huggingface": "Systran/faster-whisper-large-v3"}, []),
]


def make_lock(path: Path) -> None:
    example = load_lock(ROOT / "gpuctl.lock")
    lock = Lock(path=str(path))
    for stem, repo in MODELS.items():
        config = json.loads((ROOT / "tests" / "data" / "models" / f"{stem}.config.json").read_text())
        info = model_info_from_config(config, source=f"huggingface:{repo}", name=repo.split("/")[1])
        lock.add(ModelSource(huggingface=repo), info)
    for _, source, _ in MIX:
        model = ModelSource.model_validate(source)
        found = lookup(example, model)
        if found is not None:
            lock.add(model, found)
    write_lock(lock, path)


def make_specs(directory: Path, rng: random.Random) -> None:
    import yaml

    host_kinds = [kind for kind, (*_, count) in KINDS.items() for _ in range(count)]
    hosts = [
        {"name": f"gpu-{i:04d}", "address": f"10.{i // 250}.{i % 250}.10", "labels": {"gpu": kind}}
        for i, kind in enumerate(host_kinds)
    ]
    cluster = {
        "apiVersion": "gpuctl.dev/v1alpha1",
        "kind": "Cluster",
        "metadata": {"name": "fleet"},
        "spec": {"hosts": hosts},
    }
    (directory / "inventory").mkdir()
    (directory / "inventory" / "fleet.yaml").write_text(yaml.safe_dump(cluster, sort_keys=False))
    weights = [w for w, _, _ in MIX]
    (directory / "specs").mkdir()
    for chunk in range(20):
        documents = []
        for i in range(chunk * DEPLOYMENTS // 20, (chunk + 1) * DEPLOYMENTS // 20):
            _, source, parameters = rng.choices(MIX, weights)[0]
            documents.append(
                {
                    "apiVersion": "gpuctl.dev/v1alpha1",
                    "kind": "ModelDeployment",
                    "metadata": {"name": f"model-{i:04d}"},
                    "spec": {
                        "model": source,
                        "parameters": parameters,
                        "placement": {"selector": {"gpu": rng.choice(list(KINDS))}},
                    },
                }
            )
        text = yaml.safe_dump_all(documents, sort_keys=False)
        (directory / "specs" / f"team-{chunk:02d}.yaml").write_text(text)


def make_snapshot(path: Path) -> None:
    from gpuctl.probe.snapshot import save_snapshot

    host_kinds = [kind for kind, (*_, count) in KINDS.items() for _ in range(count)]
    hosts = []
    for i, kind in enumerate(host_kinds):
        product, mib, capability, _ = KINDS[kind]
        hosts.append(
            HostFacts(
                host=f"gpu-{i:04d}",
                cluster="fleet",
                address=f"10.{i // 250}.{i % 250}.10",
                status="ok",
                info=HostInfo(
                    hostname=f"gpu-{i:04d}",
                    arch="amd64",
                    cpu_count=128,
                    memory_total=1024 * GiB,
                    memory_available=1000 * GiB,
                ),
                devices=[
                    Device(
                        key=str(d),
                        vendor="nvidia",
                        index=d,
                        name=product,
                        uuid=f"GPU-{i:04d}{d:04d}-0000-0000-0000-000000000000",
                        memory_total=mib * MiB,
                        memory_used=4 * MiB,
                        compute_capability=capability,
                    )
                    for d in range(DEVICES)
                ],
                docker=DockerInfo(
                    reachable=True, server_version="27.5.1", runtimes=["nvidia", "runc"], gpus_supported=True
                ),
            )
        )
    save_snapshot(Inventory(taken_at="2026-01-01T00:00:00Z", hosts=hosts), path)


def l2_bound(items: list[int], capacity: int) -> int:
    """Martello–Toth L2 lower bound on the bins needed for `items` (sizes) of `capacity`."""
    items = sorted(items)
    best = math.ceil(sum(items) / capacity)
    for alpha in {0, *(s for s in items if s <= capacity / 2)}:
        large = [s for s in items if s > capacity - alpha]
        middle = [s for s in items if capacity / 2 < s <= capacity - alpha]
        small = sum(s for s in items if alpha <= s <= capacity / 2)
        room = len(middle) * capacity - sum(middle)
        best = max(best, len(large) + len(middle) + max(0, math.ceil((small - room) / capacity)))
    return best


def timed_plan(directory: Path, snapshot: Path, repeat: int, title: str):
    """Plan `repeat` times as `gpuctl plan --inventory-snapshot` does; print the fastest run."""
    from gpuctl.plan.build import make_plan
    from gpuctl.plan.inputs import gather

    runs = []
    for _ in range(repeat):
        clock = time.perf_counter()
        inputs = gather(
            [directory / "inventory"], [directory / "specs"], snapshot, [], directory / "gpuctl.lock"
        )
        loaded = time.perf_counter()
        plan = make_plan(inputs)
        planned = time.perf_counter()
        text = plan.to_json()
        dumped = time.perf_counter()
        runs.append((dumped - clock, loaded - clock, planned - loaded, dumped - planned))
    total, load, schedule, dump = min(runs)
    s = plan.summary
    print(f"{title}: fastest of {repeat} runs (this machine is shared)")
    print(f"  load specs + lock + snapshot   {load:5.2f} s")
    print(f"  plan: schedule, render, diff   {schedule:5.2f} s")
    print(f"  plan JSON ({len(text) / 1e6:.1f} MB)           {dump:5.2f} s")
    print(f"  total                          {total:5.2f} s")
    print(
        f"  {len(plan.placements)} replicas placed: {s.create} to create, {s.replace} to replace, "
        f"{s.delete} to delete, {s.unchanged} unchanged; {len(plan.errors)} errors"
    )
    return plan


def converge(plan, snapshot: Path, converged: Path) -> None:
    """The snapshot after apply carried the plan out: every container running, labelled as apply
    labels it."""
    from gpuctl.facts import ManagedContainer
    from gpuctl.plan.explain import apply_labels
    from gpuctl.probe.snapshot import load_snapshot, save_snapshot

    started: dict[str, list[ManagedContainer]] = defaultdict(list)
    for change in plan.changes:
        spec = change.container
        if spec is not None:
            started[change.host].append(
                ManagedContainer(
                    id=f"{len(started[change.host]):04d}{change.host}".ljust(64, "0"),
                    name=spec.name,
                    image=spec.image,
                    state="running",
                    labels={**spec.labels, **apply_labels(spec)},
                )
            )
    inventory = load_snapshot(snapshot)
    hosts = [h.model_copy(update={"containers": started[h.host]}) for h in inventory.hosts]
    save_snapshot(inventory.model_copy(update={"hosts": hosts}), converged)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", type=Path, help="write the inputs here and keep them")
    parser.add_argument("--repeat", type=int, default=3, help="runs; the fastest is reported")
    args = parser.parse_args()
    directory = args.keep or Path(tempfile.mkdtemp(prefix="gpuctl-plan-scale-"))
    directory.mkdir(parents=True, exist_ok=True)
    make_specs(directory, random.Random(args.seed))
    make_lock(directory / "gpuctl.lock")
    make_snapshot(directory / "snapshot.json")

    print(f"inputs: {HOSTS} hosts × {DEVICES} devices, {DEPLOYMENTS} deployments")
    plan = timed_plan(directory, directory / "snapshot.json", args.repeat, "first plan (idle fleet)")
    converge(plan, directory / "snapshot.json", directory / "converged.json")
    timed_plan(directory, directory / "converged.json", args.repeat, "plan again once applied (no churn)")
    items: dict[int, list[int]] = defaultdict(list)
    used: dict[int, int] = defaultdict(int)
    device_total = {h.name: {d.key: d.total for d in h.devices} for h in plan.hosts}
    for host in plan.hosts:
        for dev in host.devices:
            used[dev.total] += bool(dev.holders_after)
    for placement in plan.placements:
        claim = placement.estimate.per_device.total if placement.estimate.per_device else 0
        for worker in placement.workers:
            for key in worker.devices:
                items[device_total[worker.host][key]].append(claim)
    for total in sorted(items, reverse=True):
        l1 = math.ceil(sum(items[total]) / total)
        l2 = l2_bound(items[total], total)
        over = 100 * (used[total] - l2) / l2
        print(
            f"{total / GiB:5.1f} GiB devices: {used[total]} used; lower bounds L1 {l1}, L2 {l2}"
            f" → {over:.2f} % above L2"
        )
    if args.keep is None:
        import shutil

        shutil.rmtree(directory)


if __name__ == "__main__":
    main()
