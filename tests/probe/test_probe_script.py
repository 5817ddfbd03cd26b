"""The real probe script, run by the real `sh` of this machine, with vendor tools that print real
captures: what the whole chain (script → sections → parsers → merge) makes of a host.

Each fake tool is a few lines of sh that answer the exact command lines the script runs with
fixture files; a command line the script should not run makes the tool fail loudly. No SSH here
(test_ssh_local.py covers it): the script is fed to `sh -s` as over SSH.
"""

from __future__ import annotations

import csv
import io
import json
import os
import secrets
import shutil
import subprocess
from pathlib import Path

import pytest

from gpuctl.facts import HostFacts
from gpuctl.probe.assemble import APP_FIELDS, BASIC_GPU_FIELDS, GPU_FIELDS
from gpuctl.probe.inventory import facts_from, probe_command, probe_script
from gpuctl.probe.parse.sections import parse_sections
from gpuctl.probe.ssh import Outcome, Target

FIXTURES = Path(__file__).parents[1] / "data" / "fixtures"
NVIDIA = FIXTURES / "nvidia"
H100_MIG = "nge__linux-x86_64__nvidia-h100-mig__590.48.01"
MIB = 1024 * 1024
CONTAINER = "4f" * 32


def _pattern(args: str) -> str:
    """A `case` pattern matching exactly `args`, where `*` stands for anything."""
    quote = str.maketrans({c: "\\" + c for c in '"$`\\'})
    return "*".join(f'"{part.translate(quote)}"' for part in args.split("*"))


def tool(directory: Path, name: str, cases: dict[str, str], otherwise: str | None = None) -> None:
    """A fake vendor tool: `case "$*"` over exact argument strings, each printing a file or text."""
    lines = ["#!/bin/sh", 'case "$*" in']
    for args, body in cases.items():
        lines.append(f"  {_pattern(args)}) {body} ;;")
    lines.append(f"  *) {otherwise or 'echo unexpected arguments: $* >&2; exit 99'} ;;")
    lines.append("esac")
    path = directory / name
    path.write_text("\n".join(lines) + "\n")
    path.chmod(0o755)


BASE_TOOLS = ("sh", "hostname", "cat", "uname", "nproc", "df", "mktemp", "rm", "dirname")
"""What the script needs besides vendor tools: the PATH holds these and the fake tools only, so
a vendor tool installed on the machine running the tests (docker, say) stays out of the probe."""


def run_script(tmp_path: Path, model_dir: str = "/") -> tuple[Outcome, str]:
    target = Target(
        host="h1",
        cluster="c",
        address="192.0.2.1",
        port=22,
        user="root",
        known_hosts=tmp_path / "known_hosts",
        model_dir=model_dir,
    )
    nonce = secrets.token_hex(8)
    base = tmp_path / "base-bin"
    base.mkdir(exist_ok=True)
    for name in BASE_TOOLS:
        (base / name).symlink_to(shutil.which(name))  # type: ignore[arg-type]
    env = {"PATH": f"{tmp_path / 'bin'}:{base}", "HOME": str(tmp_path)}
    done = subprocess.run(
        probe_command(target, nonce),
        shell=True,
        input=probe_script(),
        capture_output=True,
        env=env,
        timeout=60,
    )
    outcome = Outcome(
        target, "ok", stdout=done.stdout.decode(), stderr=done.stderr.decode(), exit_status=done.returncode
    )
    return outcome, nonce


def run_probe(tmp_path: Path, model_dir: str = "/") -> HostFacts:
    return facts_from(*run_script(tmp_path, model_dir))


@pytest.fixture
def bin_dir(tmp_path: Path) -> Path:
    (tmp_path / "bin").mkdir()
    return tmp_path / "bin"


def noheader(path: Path, fields: tuple[str, ...], replace: dict[str, str] | None = None) -> str:
    """A capture made with a header and units, re-printed the way the probe asks for it
    (noheader, nounits, the probe's fields): the same real values, another layout."""
    rows = list(csv.reader(io.StringIO(path.read_text()), skipinitialspace=True))
    header = [h.split(" [")[0] for h in rows[0]]
    aliases = {"used_memory": "used_gpu_memory"}
    out = []
    for row in rows[1:]:
        values = dict(zip(header, row, strict=True))
        cells = [values[aliases.get(f, f)].removesuffix(" MiB") for f in fields]
        line = ", ".join(cells)
        for old, new in (replace or {}).items():
            line = line.replace(old, new)
        out.append(line)
    return "\n".join(out) + "\n"


def nvidia_mig_host(bin_dir: Path, tmp_path: Path, gpu_query: str | None = None) -> None:
    query = NVIDIA / f"query-gpu-csv/{H100_MIG}__load__allfields.csv"
    (tmp_path / "gpus.csv").write_text(noheader(query, GPU_FIELDS))
    (tmp_path / "basic.csv").write_text(noheader(query, BASIC_GPU_FIELDS))
    # one compute app is this test's own process, so the script has a real /proc/PID/cgroup to read
    me = str(os.getpid()).rjust(5)
    apps = noheader(NVIDIA / f"compute-apps/{H100_MIG}__load.csv", APP_FIELDS, {"21181": me})
    (tmp_path / "apps.csv").write_text(apps)
    table = (NVIDIA / "table" / f"{H100_MIG}__load.txt").read_text().replace("21181", me)
    (tmp_path / "table.txt").write_text(table)
    csv_args = "--format=csv,noheader,nounits"
    tool(
        bin_dir,
        "nvidia-smi",
        {
            f"--query-gpu={','.join(GPU_FIELDS)} {csv_args}": gpu_query or f"cat {tmp_path / 'gpus.csv'}",
            f"--query-gpu={','.join(BASIC_GPU_FIELDS)} {csv_args}": f"cat {tmp_path / 'basic.csv'}",
            f"--query-compute-apps={','.join(APP_FIELDS)} {csv_args}": f"cat {tmp_path / 'apps.csv'}",
            "-L": f"cat {NVIDIA / 'list' / (H100_MIG + '.txt')}",
            "": f"cat {tmp_path / 'table.txt'}",
        },
    )


def test_nvidia_mig_host(bin_dir: Path, tmp_path: Path) -> None:
    nvidia_mig_host(bin_dir, tmp_path)
    facts = run_probe(tmp_path)
    assert facts.status == "ok", facts.message
    assert [(d.key, d.name, d.memory_total // MIB, d.memory_used // MIB) for d in facts.devices] == [
        ("0/0", "NVIDIA H100 80GB HBM3 MIG 3g.40gb", 40448, 11091),
        ("0/1", "NVIDIA H100 80GB HBM3 MIG 2g.20gb", 20096, 17),
        ("0/2", "NVIDIA H100 80GB HBM3 MIG 1g.10gb", 9984, 9),
        ("0/3", "NVIDIA H100 80GB HBM3 MIG 1g.10gb", 9984, 9),
    ]
    assert {d.compute_capability for d in facts.devices} == {"9.0"}
    assert facts.devices[0].uuid == "MIG-00000000-0000-0000-0000-000000000000"
    assert (facts.drivers.nvidia_driver, facts.drivers.cuda_version) == ("590.48.01", "13.1")
    assert [(p.device_key, p.pid, p.used_memory // MIB) for p in facts.processes] == [
        ("0/0", 21180, 2296),
        ("0/0", os.getpid(), 1272),
        ("0/0", 21198, 7484),
    ]
    assert facts.accelerator == "nvidia"
    assert facts.warnings == []


def test_script_reads_the_cgroup_of_each_compute_app(bin_dir: Path, tmp_path: Path) -> None:
    nvidia_mig_host(bin_dir, tmp_path)
    outcome, nonce = run_script(tmp_path)
    sections = parse_sections(outcome.stdout, nonce)
    assert {name for name in sections if name.startswith("cgroup:")} == {
        "cgroup:21180",
        f"cgroup:{os.getpid()}",
        "cgroup:21198",
    }
    assert sections[f"cgroup:{os.getpid()}"].text == Path("/proc/self/cgroup").read_text().strip()
    assert not sections["cgroup:21180"].ok  # no such process here: nothing to read, no container


def test_old_driver_without_compute_cap_falls_back_to_the_basic_query(bin_dir: Path, tmp_path: Path) -> None:
    refuse = "echo 'Field \"compute_cap\" is not a valid field to query.'; exit 2"
    nvidia_mig_host(bin_dir, tmp_path, gpu_query=refuse)
    facts = run_probe(tmp_path)
    assert facts.status == "ok", facts.message
    assert len(facts.devices) == 4
    assert {d.compute_capability for d in facts.devices} == {None}


def test_driver_not_loaded_is_a_probe_failure_saying_so(bin_dir: Path, tmp_path: Path) -> None:
    message = "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver."
    tool(bin_dir, "nvidia-smi", {}, otherwise=f'echo "{message}"; exit 9')
    facts = run_probe(tmp_path)
    assert facts.status == "probe-failed"
    assert message in facts.message and "exit 9" in facts.message
    assert facts.devices == []


def test_nvidia_smi_without_gpus_is_a_host_without_devices(bin_dir: Path, tmp_path: Path) -> None:
    tool(bin_dir, "nvidia-smi", {}, otherwise='echo "No devices were found"; exit 6')
    facts = run_probe(tmp_path)
    assert (facts.status, facts.devices, facts.accelerator) == ("ok", [], "none")
    assert "finds no GPU" in facts.warnings[0]


def test_unreadable_gpu_list_is_a_probe_failure(bin_dir: Path, tmp_path: Path) -> None:
    tool(bin_dir, "nvidia-smi", {}, otherwise="echo 'Segmentation fault (core dumped)'")
    facts = run_probe(tmp_path)
    assert facts.status == "probe-failed"
    assert "nothing gpuctl can read as a GPU" in facts.message


def test_ascend_310p_duo(bin_dir: Path, tmp_path: Path) -> None:
    info = FIXTURES / "ascend/nvtop-issue-421__atlas300i-duo-310p3__npu-smi_info.PARTIAL.txt"
    tool(bin_dir, "npu-smi", {"info": f"cat {info}", "info -m": "exit 1"})
    facts = run_probe(tmp_path)
    assert facts.status == "ok", facts.message
    assert [
        (d.key, d.name, d.chip_id, d.memory_total // MIB, d.memory_used // MIB) for d in facts.devices
    ] == [
        ("0", "Ascend 310P3", 0, 44280, 1529),
        ("1", "Ascend 310P3", 1, 43693, 1412),
    ]
    assert facts.drivers.ascend_driver == "25.2.0"  # no version.info here: npu-smi's own version
    assert "npu-smi info -m" in facts.warnings[0]


def test_ascend_910_with_processes_and_mapping(bin_dir: Path, tmp_path: Path) -> None:
    base = FIXTURES / "ascend/gpustack-data__ai-server_atlas-800-training-server_model-9010_version-24.1.RC2"
    tool(bin_dir, "npu-smi", {"info": f"cat {base}.txt", "info -m": f"cat {base}_mapping.txt"})
    facts = run_probe(tmp_path)
    assert facts.status == "ok", facts.message
    assert [d.key for d in facts.devices] == [str(i) for i in range(8)]
    assert {d.memory_total // MIB for d in facts.devices} == {32768}
    assert [d.health for d in facts.devices].count("Warning") == 2
    assert len(facts.processes) == 32
    assert (facts.processes[0].device_key, facts.processes[0].pid) == ("0", 37656)
    assert facts.processes[-1].device_key == "7"


def test_amd_rocm_smi(bin_dir: Path, tmp_path: Path) -> None:
    report = FIXTURES / "amd/telegraf__mi100_rocm602__rocm-smi_multiflag_--json.json"
    args = "--showid --showmeminfo vram --showproductname --showuniqueid --json"
    tool(bin_dir, "rocm-smi", {args: f"cat {report}"})
    facts = run_probe(tmp_path)
    assert facts.status == "ok", facts.message
    assert [(d.key, d.name, d.memory_total) for d in facts.devices] == [
        (str(i), "Arcturus GL-XL [Instinct MI100]", 34342961152) for i in range(4)
    ]


def test_amd_smi_without_rocm_smi(bin_dir: Path, tmp_path: Path) -> None:
    """ROCm 7 has no rocm-smi. The static report wraps the real MI300X vram fragment in the
    shape amd-smi prints; used VRAM comes from the real process list (monitor has no VRAM column)."""
    vram = json.loads(
        (FIXTURES / "amd/rocm-blogs__mi300x__amd-smi_static_--json__jq_vram_of_gpu0.json").read_text()
    )
    static = [{"gpu": i, "asic": {"market_name": "AMD Instinct MI300X"}, "vram": vram} for i in range(8)]
    (tmp_path / "static.json").write_text(json.dumps(static))
    tool(
        bin_dir,
        "amd-smi",
        {
            "static --json": f"cat {tmp_path / 'static.json'}",
            "monitor -v": f"cat {FIXTURES / 'amd/rocm-blogs__8x-mi300x__amd-smi_monitor_-putm.txt'}",
            "process --csv": f"cat {FIXTURES / 'amd/rocm-blogs__8x-mi300x__amd-smi_process_--csv.csv'}",
        },
    )
    facts = run_probe(tmp_path)
    assert facts.status == "ok", facts.message
    assert len(facts.devices) == 8
    assert facts.devices[0].memory_total == 196592 * MIB
    assert facts.devices[0].memory_used == 7889485824
    assert len(facts.processes) == 8
    assert any("VRAM_USED" in w for w in facts.warnings)


INSPECT_LINES = [
    {
        "Id": CONTAINER,
        "Name": "/gpuctl-qwen3-8b-0",
        "Image": "gpustack/runner:cuda12.8-vllm0.11.0",
        "Status": "running",
        "StartedAt": "2026-11-25T01:02:03.456Z",
        "Health": "healthy",
        "Labels": {"gpuctl.managed": "true", "gpuctl.deployment": "qwen3-8b", "gpuctl.devices": "0,1"},
        "DeviceRequests": [{"Count": 0, "DeviceIDs": ["0", "1"], "Capabilities": [["gpu"]]}],
        "Devices": [],
        "Env": ["NVIDIA_VISIBLE_DEVICES=0,1", None],
    },
    {
        "Id": "5e" * 32,
        "Name": "/gpuctl-mindie-0",
        "Image": "gpustack/runner:cann8.2-910b-mindie2.1.rc2",
        "Status": "exited",
        "StartedAt": "0001-01-01T00:00:00Z",
        "Health": None,
        "Labels": {"gpuctl.managed": "true"},
        "DeviceRequests": None,
        "Devices": [{"PathOnHost": "/dev/davinci3", "PathInContainer": "/dev/davinci3"}],
        "Env": ["ASCEND_VISIBLE_DEVICES=3", None],
    },
]


def docker_tool(bin_dir: Path, tmp_path: Path, info: dict, status: int = 0) -> None:
    (tmp_path / "info.json").write_text(json.dumps(info))
    (tmp_path / "inspect").write_text("\n".join(json.dumps(line) for line in INSPECT_LINES) + "\n")
    ids = " ".join(line["Id"] for line in INSPECT_LINES)
    tool(
        bin_dir,
        "docker",
        {
            "info --format {{json .}}": f"cat {tmp_path / 'info.json'}; exit {status}",
            "ps -a -q --no-trunc --filter label=gpuctl.managed=true": f"printf '%s\\n' {ids}",
            f"inspect --format *{ids}": f"cat {tmp_path / 'inspect'}",
        },
    )


def test_docker_with_nvidia_runtime_and_gpuctl_containers(bin_dir: Path, tmp_path: Path) -> None:
    runtimes = {"runc": {"path": "runc"}, "nvidia": {"path": "nvidia-container-runtime"}}
    docker_tool(bin_dir, tmp_path, {"ServerVersion": "27.3.1", "Runtimes": runtimes})
    facts = run_probe(tmp_path)
    assert facts.status == "ok", facts.message
    assert facts.docker.model_dump() == {
        "reachable": True,
        "server_version": "27.3.1",
        "runtimes": ["nvidia", "runc"],
        "gpus_supported": True,
        "error": None,
    }
    assert [(c.name, c.state, c.health, c.device_requests) for c in facts.containers] == [
        ("gpuctl-mindie-0", "exited", None, ["3"]),
        ("gpuctl-qwen3-8b-0", "running", "healthy", ["0", "1"]),
    ]
    assert facts.containers[1].labels["gpuctl.deployment"] == "qwen3-8b"
    assert facts.containers[0].started_at is None


def test_gpu_hook_on_path_means_gpus_work(bin_dir: Path, tmp_path: Path) -> None:
    docker_tool(bin_dir, tmp_path, {"ServerVersion": "27.3.1", "Runtimes": {"runc": {}}})
    tool(bin_dir, "nvidia-container-runtime-hook", {}, otherwise="exit 0")
    facts = run_probe(tmp_path)
    assert facts.docker.gpus_supported is True


def test_docker_daemon_down_is_recorded_not_a_failure(bin_dir: Path, tmp_path: Path) -> None:
    down = "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?"
    docker_tool(bin_dir, tmp_path, {"ServerVersion": "", "ServerErrors": [down]}, status=1)
    facts = run_probe(tmp_path)
    assert facts.status == "ok"
    assert (facts.docker.reachable, facts.docker.error) == (False, down)
    assert facts.containers == []


def test_cpu_only_host_without_docker(bin_dir: Path, tmp_path: Path) -> None:
    facts = run_probe(tmp_path, model_dir=str(tmp_path / "models" / "not-created-yet"))
    assert facts.status == "ok", facts.message
    assert (facts.devices, facts.accelerator) == ([], "none")
    assert facts.docker.reachable is False and "not installed" in facts.docker.error
    assert facts.info.disk_free > 0
