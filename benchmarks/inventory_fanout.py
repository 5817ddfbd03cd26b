"""How `gpuctl inventory` scales from 1 host to 30, and how it compares with `ansible all -m setup`.

Run as root from the repository: `sudo .venv/bin/python benchmarks/inventory_fanout.py [--hosts 30]`.
It brings up a sandbox of N hosts (the host profiles in turn), times the `gpuctl inventory` command
over one of them and over all of them (median of --runs), installs ansible-core from PyPI into a
throwaway virtual environment and times `ansible all -m setup` over the same hosts with the same
key and known_hosts, then takes everything down again.

Every sandbox host runs on this machine's CPUs: what a probe does on the host (sshd, the simulated
vendor tools, docker) competes for them, which real hosts would not. So the script also prints the
CPU time the command itself used (the client's cost), the CPU time the whole machine spent (the
hosts' cost included) and what that means as a floor: machine CPU seconds / CPUs.
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
from dataclasses import dataclass
from pathlib import Path

import yaml

from gpuctl.sandbox import Sandbox
from gpuctl.sandbox.profiles import PROFILES


def machine_cpu_seconds() -> float:
    """CPU time all processes of the machine have used (busy time from /proc/stat)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields[:8]
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


@dataclass
class Run:
    wall: float
    cpu: float
    """CPU seconds of the command and its children (gpuctl: itself; ansible: its forks and ssh)."""
    machine_cpu: float
    stdout: str


def timed(command: list[str], env: dict[str, str] | None = None) -> Run:
    before, machine = resource.getrusage(resource.RUSAGE_CHILDREN), machine_cpu_seconds()
    start = time.monotonic()
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=900)
    wall = time.monotonic() - start
    after, machine = resource.getrusage(resource.RUSAGE_CHILDREN), machine_cpu_seconds() - machine
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if done.returncode not in (0, 1):
        sys.exit(f"{' '.join(command[:3])} failed ({done.returncode}): {done.stderr[-2000:]}")
    return Run(wall, cpu, machine, done.stdout)


def summary(runs: list[Run]) -> str:
    wall = statistics.median(r.wall for r in runs)
    cpu = statistics.median(r.cpu for r in runs)
    machine = statistics.median(r.machine_cpu for r in runs)
    cores = os.cpu_count() or 1
    return (
        f"{wall:.2f} s (median of {len(runs)}); its own CPU {cpu:.2f} s; machine CPU {machine:.1f} s "
        f"= floor {machine / cores:.2f} s on {cores} CPUs"
    )


def one_host_cluster(full: Path, out: Path) -> Path:
    document = yaml.safe_load(full.read_text())
    document["spec"]["hosts"] = document["spec"]["hosts"][:1]
    for key in ("identityFile", "knownHostsFile"):
        document["spec"]["ssh"][key] = str((full.parent / document["spec"]["ssh"][key]).resolve())
    out.write_text(yaml.safe_dump(document))
    return out


def gpuctl_runs(cluster: Path, runs: int) -> tuple[list[Run], list[float]]:
    """The runs, and every host's probe seconds over all of them."""
    done, per_host = [], []
    for _ in range(runs):
        run = timed([sys.executable, "-m", "gpuctl", "inventory", "-i", str(cluster), "--json"])
        hosts = json.loads(run.stdout)["hosts"]
        bad = [h["host"] for h in hosts if h["status"] != "ok"]
        if bad:
            sys.exit(f"hosts not ok: {bad}")
        done.append(run)
        per_host += [h["probe_seconds"] for h in hosts]
    return done, per_host


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
    with tempfile.TemporaryDirectory(prefix="gpuctl-fanout-") as tmp_dir:
        tmp = Path(tmp_dir)
        sandbox = Sandbox(args.name, state_dir=tmp / "state", inventory=tmp / "inventory" / "fleet.yaml")
        try:
            sandbox.up(profiles)
            time.sleep(2)  # let the daemons settle after start-up
            one = one_host_cluster(sandbox.inventory, tmp / "one.yaml")
            gpuctl_runs(sandbox.inventory, 1)  # warm-up: caches, first docker calls
            one_runs, one_probe = gpuctl_runs(one, args.runs)
            all_runs, all_probe = gpuctl_runs(sandbox.inventory, args.runs)
            ansible_runs: list[Run] = []
            if not args.no_ansible:
                ansible = ansible_venv(tmp / "ansible-venv")
                inventory = ansible_inventory(sandbox, tmp / "ansible.ini")
                env = {**os.environ, "ANSIBLE_HOST_KEY_CHECKING": "True", "ANSIBLE_STDOUT_CALLBACK": "json"}
                command = [str(ansible), "all", "-i", str(inventory), "-m", "setup", "-f", str(args.hosts)]
                timed(command, env)  # warm-up
                ansible_runs = [timed(command, env) for _ in range(max(1, args.runs // 2))]
        finally:
            sandbox.down()
    hosts = args.hosts
    one_wall = statistics.median(r.wall for r in one_runs)
    all_wall = statistics.median(r.wall for r in all_runs)
    print(f"machine: {os.cpu_count()} CPUs; sandbox hosts: {hosts} ({', '.join(sorted(set(profiles)))})")
    print(f"gpuctl inventory, 1 host:  {summary(one_runs)}")
    print(f"gpuctl inventory, {hosts} hosts: {summary(all_runs)}")
    print(f"  ratio {hosts} hosts / 1 host: {all_wall / one_wall:.2f} (target <= 1.3)")
    print(
        f"  probe time per host: {statistics.mean(one_probe):.2f} s alone, "
        f"{statistics.mean(all_probe):.2f} s mean / {max(all_probe):.2f} s max with {hosts} at once"
    )
    if ansible_runs:
        ansible_wall = statistics.median(r.wall for r in ansible_runs)
        print(f"ansible all -m setup -f {hosts}, {hosts} hosts: {summary(ansible_runs)}")
        print(f"  ansible / gpuctl: {ansible_wall / all_wall:.1f}x (target >= 5)")


if __name__ == "__main__":
    main()
