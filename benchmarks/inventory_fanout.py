"""How `gpuctl inventory` scales from 1 host to 30, and how it compares with `ansible all -m setup`.

Run as root from the repository: `sudo .venv/bin/python benchmarks/inventory_fanout.py [--hosts 30]`.
It brings up a sandbox of N hosts (the host profiles in turn), installs ansible-core from PyPI into
a throwaway virtual environment, warms each command once (first runs fill caches: Python bytecode,
dockerd, ansible's SSH control connections, which it keeps for 60 s by default and reuses), then
times, in turn, `gpuctl inventory` over one host, over all of them, and `ansible all -m setup -f N`
over the same hosts with the same key and known_hosts; it prints medians and takes everything down.

Every sandbox host runs on this machine's CPUs: what a probe costs on a host (sshd, the vendor
tools, docker) competes for them with everything else, which it would not on real hosts. So the
script also splits the CPU time each run used: the command itself (with its children: ansible's
forks and ssh clients), the sandbox hosts (their sshd and dockerd process trees), and the rest of
the machine (other users). (command + hosts) / CPUs is the least wall time the run can take here.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import yaml

from gpuctl.sandbox import Sandbox, node
from gpuctl.sandbox.profiles import PROFILES

TICK = os.sysconf("SC_CLK_TCK")
CPUS = os.cpu_count() or 1


def machine_cpu_seconds() -> float:
    """CPU time all processes of the machine have used (busy time from /proc/stat)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields[:8]
    return (user + nice + system + irq + softirq + steal) / TICK


def tree_cpu_seconds(roots: list[int]) -> float:
    """CPU time of the process trees under `roots`: each live process's own time plus that of the
    children it has reaped (a finished SSH session lands in its sshd's, a docker CLI in its
    session's)."""
    parent, cpu = {}, {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue  # exited meanwhile
            parent[int(entry.name)] = int(fields[1])
            cpu[int(entry.name)] = sum(int(v) for v in fields[11:15]) / TICK
    children: dict[int, list[int]] = {}
    for pid, ppid in parent.items():
        children.setdefault(ppid, []).append(pid)
    total, todo = 0.0, [pid for pid in roots if pid in cpu]
    while todo:
        pid = todo.pop()
        total += cpu[pid]
        todo += children.get(pid, [])
    return total


@dataclass
class Run:
    wall: float
    cpu: float
    """CPU seconds of the command and its children (gpuctl: itself; ansible: its forks and ssh)."""
    hosts_cpu: float
    """CPU seconds of the sandbox hosts' sshd and dockerd process trees."""
    machine_cpu: float
    stdout: str


def timed(command: list[str], host_roots: list[int], env: dict[str, str] | None = None) -> Run:
    before, hosts, machine = (
        resource.getrusage(resource.RUSAGE_CHILDREN),
        tree_cpu_seconds(host_roots),
        machine_cpu_seconds(),
    )
    start = time.monotonic()
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=900)
    wall = time.monotonic() - start
    after, machine = resource.getrusage(resource.RUSAGE_CHILDREN), machine_cpu_seconds() - machine
    time.sleep(0.3)  # the hosts' sessions end and are reaped just after the client's
    hosts = tree_cpu_seconds(host_roots) - hosts
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if done.returncode not in (0, 1):
        sys.exit(f"{' '.join(command[:3])} failed ({done.returncode}): {done.stderr[-2000:]}")
    return Run(wall, cpu, hosts, machine, done.stdout)


def median(runs: list[Run], field: Callable[[Run], float]) -> float:
    return statistics.median(field(r) for r in runs)


def summary(runs: list[Run]) -> str:
    wall, cpu, hosts = (median(runs, f) for f in (lambda r: r.wall, lambda r: r.cpu, lambda r: r.hosts_cpu))
    others = median(runs, lambda r: r.machine_cpu - r.cpu - r.hosts_cpu)
    return (
        f"{wall:.2f} s (median of {len(runs)}: {', '.join(f'{r.wall:.2f}' for r in runs)})\n"
        f"    CPU: command {cpu:.2f} s + hosts {hosts:.2f} s + rest of machine {max(others, 0):.2f} s; "
        f"floor (command + hosts) / {CPUS} CPUs = {(cpu + hosts) / CPUS:.2f} s"
    )


def one_host_cluster(full: Path, out: Path) -> Path:
    document = yaml.safe_load(full.read_text())
    document["spec"]["hosts"] = document["spec"]["hosts"][:1]
    for key in ("identityFile", "knownHostsFile"):
        document["spec"]["ssh"][key] = str((full.parent / document["spec"]["ssh"][key]).resolve())
    out.write_text(yaml.safe_dump(document))
    return out


def inventory_command(cluster: Path) -> list[str]:
    return [sys.executable, "-m", "gpuctl", "inventory", "-i", str(cluster), "--json"]


def probe_seconds(run: Run) -> list[float]:
    """Every host's probe seconds; exits if a host is not ok (the figures would mean nothing)."""
    hosts = json.loads(run.stdout)["hosts"]
    bad = [h["host"] for h in hosts if h["status"] != "ok"]
    if bad:
        sys.exit(f"hosts not ok: {bad}")
    return [h["probe_seconds"] for h in hosts]


def ansible_venv(directory: Path) -> Path:
    subprocess.run([sys.executable, "-m", "venv", str(directory)], check=True)
    subprocess.run([str(directory / "bin" / "pip"), "install", "-q", "ansible-core"], check=True)
    return directory / "bin" / "ansible"


def ansible_inventory(sandbox: Sandbox, out: Path) -> Path:
    ssh_args = f"-o UserKnownHostsFile={sandbox.known_hosts_file} -o StrictHostKeyChecking=yes"
    lines = ["[all]"] + [
        f"{h.name} ansible_host={h.address} ansible_user=root "
        f"ansible_ssh_private_key_file={sandbox.identity_file} ansible_python_interpreter=/usr/bin/python3 "
        f"ansible_ssh_common_args='{ssh_args}'"
        for h in sandbox.hosts
    ]
    out.write_text("\n".join(lines) + "\n")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=30)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--name", default="fanout")
    parser.add_argument("--profiles", default=",".join(PROFILES), help="Host profiles, used in turn.")
    parser.add_argument("--no-ansible", action="store_true", help="Skip the ansible comparison.")
    args = parser.parse_args()
    profiles = list(itertools.islice(itertools.cycle(args.profiles.split(",")), args.hosts))
    one_runs: list[Run] = []
    all_runs: list[Run] = []
    ansible_runs: list[Run] = []
    one_probe: list[float] = []
    all_probe: list[float] = []
    with tempfile.TemporaryDirectory(prefix="gpuctl-fanout-") as tmp_dir:
        tmp = Path(tmp_dir)
        sandbox = Sandbox(args.name, state_dir=tmp / "state", inventory=tmp / "inventory" / "fleet.yaml")
        try:
            sandbox.up(profiles)
            roots = [pid for h in sandbox.hosts for pid in (node.sshd_pid(h), node.dockerd_pid(h)) if pid]
            one = inventory_command(one_host_cluster(sandbox.inventory, tmp / "one.yaml"))
            full = inventory_command(sandbox.inventory)
            commands = [(one, one_runs), (full, all_runs)]
            env = None
            if not args.no_ansible:
                ansible = ansible_venv(tmp / "ansible-venv")
                inventory = ansible_inventory(sandbox, tmp / "ansible.ini")
                env = {**os.environ, "ANSIBLE_HOST_KEY_CHECKING": "True", "ANSIBLE_STDOUT_CALLBACK": "json"}
                setup = [str(ansible), "all", "-i", str(inventory), "-m", "setup", "-f", str(args.hosts)]
                commands.append((setup, ansible_runs))
            time.sleep(2)  # let the daemons settle after start-up
            for command, _ in commands:  # warm-up
                timed(command, roots, env)
            for _ in range(args.runs):  # in turn, so that other load on the machine hits all alike
                for command, runs in commands:
                    runs.append(timed(command, roots, env))
            for run in one_runs:
                one_probe += probe_seconds(run)
            for run in all_runs:
                all_probe += probe_seconds(run)
        finally:
            sandbox.down()
    hosts_count = args.hosts
    one_wall, all_wall = median(one_runs, lambda r: r.wall), median(all_runs, lambda r: r.wall)
    per_host = median(all_runs, lambda r: r.hosts_cpu) / hosts_count
    print(f"machine: {CPUS} CPUs; sandbox hosts: {hosts_count} ({', '.join(sorted(set(profiles)))})")
    print(f"gpuctl inventory, 1 host: {summary(one_runs)}")
    print(f"gpuctl inventory, {hosts_count} hosts: {summary(all_runs)}")
    print(f"  ratio {hosts_count} hosts / 1 host: {all_wall / one_wall:.2f} (target <= 1.3)")
    print(
        f"  probe time per host: {statistics.mean(one_probe):.2f} s alone, "
        f"{statistics.mean(all_probe):.2f} s mean / {max(all_probe):.2f} s max with {hosts_count} at once"
    )
    print(
        f"  a probe costs the host {per_host * 1000:.0f} ms of CPU; {hosts_count} of them and the command "
        f"need {median(all_runs, lambda r: r.cpu + r.hosts_cpu):.2f} CPU-s, at least "
        f"{median(all_runs, lambda r: r.cpu + r.hosts_cpu) / CPUS:.2f} s on {CPUS} CPUs "
        f"= {median(all_runs, lambda r: r.cpu + r.hosts_cpu) / CPUS / one_wall:.2f} x the 1-host time"
    )
    if ansible_runs:
        ansible_wall = median(ansible_runs, lambda r: r.wall)
        print(f"ansible all -m setup -f {hosts_count}, {hosts_count} hosts: {summary(ansible_runs)}")
        print(f"  ansible / gpuctl: {ansible_wall / all_wall:.1f}x (target >= 5)")


if __name__ == "__main__":
    main()
