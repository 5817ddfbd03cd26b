"""Parsers meet real-world variation: [N/A] and [Not Supported] values, Windows line endings, other
field lists, commas in names, missing columns and truncated or garbled output. They return values
and warnings, or raise their own ParseError; never anything else (fuzzed with hypothesis)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gpuctl.facts import HostFacts
from gpuctl.probe.assemble import GPU_FIELDS, host_facts
from gpuctl.probe.parse.amd_smi import parse_amd_smi_monitor, parse_amd_smi_process, parse_amd_smi_static
from gpuctl.probe.parse.common import ParseError, to_bytes
from gpuctl.probe.parse.docker import container_id_from_cgroup, parse_containers, parse_docker_info
from gpuctl.probe.parse.host import (
    parse_df,
    parse_key_values,
    parse_local_ports,
    parse_meminfo,
    parse_nproc,
    parse_proc_listening,
    parse_ss_listening,
    parse_uname,
)
from gpuctl.probe.parse.npu_smi import parse_npu_details, parse_npu_info, parse_npu_mapping
from gpuctl.probe.parse.nvidia_csv import parse_compute_apps, parse_query_gpu
from gpuctl.probe.parse.nvidia_list import parse_list
from gpuctl.probe.parse.nvidia_q import parse_q_text
from gpuctl.probe.parse.nvidia_table import parse_table
from gpuctl.probe.parse.nvidia_xml import parse_xml
from gpuctl.probe.parse.rocm_smi import parse_rocm_smi_csv, parse_rocm_smi_json
from gpuctl.probe.parse.sections import Section, parse_sections

FIXTURES = Path(__file__).parents[1] / "data" / "fixtures"
MIB = 1024 * 1024


def test_sizes() -> None:
    assert to_bytes("81559 MiB") == 81559 * MIB
    assert to_bytes("81559") == 81559 * MIB
    assert to_bytes("17163091968", default_unit="B") == 17163091968
    assert to_bytes("196592 MB") == 196592 * MIB
    assert [to_bytes(v) for v in ("[N/A]", "[Not Supported]", "N/A", "", "12 parsecs")] == [None] * 5


def test_query_gpu_noheader_nounits_as_the_probe_asks() -> None:
    text = (
        "0, GPU-8f6e2b1c-0000-1111-2222-333344445555, NVIDIA H100 80GB HBM3, 81559, 0, 9.0, 550.54.15, "
        "Disabled, 00000000:18:00.0\r\n"
        "1, GPU-8f6e2b1c-0000-1111-2222-333344445556, NVIDIA H100 80GB HBM3, 81559, [N/A], 9.0, 550.54.15, "
        "[N/A], 00000000:2A:00.0\r\n"
    )
    parsed = parse_query_gpu(text, GPU_FIELDS)
    first, second = parsed.value
    assert (first.index, first.memory_total, first.memory_used, first.mig_enabled) == (
        0,
        81559 * MIB,
        0,
        False,
    )
    assert (second.memory_used, second.mig_enabled, second.bus_id) == (None, None, "00000000:2A:00.0")
    assert parsed.warnings == ["GPU 1: memory.used is '[N/A]', not a size"]


def test_query_gpu_truncated_row_is_a_warning_not_a_guess() -> None:
    text = "0, GPU-a, Tesla T4, 15360, 0, 7.5, 535.1, Disabled, 00000000:00:1E.0\n1, GPU-b, Tesla"
    parsed = parse_query_gpu(text, GPU_FIELDS)
    assert [g.index for g in parsed.value] == [0]
    assert "row 2 has 3 values for 9 fields" in parsed.warnings[0]


def test_query_gpu_without_header_or_fields_is_a_parse_error() -> None:
    with pytest.raises(ParseError, match="no header line and no field list"):
        parse_query_gpu("Tesla T4, 15360 MiB")


def test_process_name_with_commas_is_put_back_together() -> None:
    text = "GPU-a, 4242, python -c import a, b, 1234\n"
    (process,) = parse_compute_apps(text, ["gpu_uuid", "pid", "process_name", "used_memory"]).value
    assert (process.pid, process.name, process.used_memory) == (4242, "python -c import a, b", 1234 * MIB)


def test_table_cut_off_inside_a_gpu_row_keeps_the_complete_gpus() -> None:
    text = (FIXTURES / "nvidia/table/cllm_baseline__8x-h200__570.133.20.txt").read_text()
    cut = text[: text.index("|   3  NVIDIA H200") + 40]
    parsed = parse_table(cut)
    assert [g.index for g in parsed.value.gpus][:3] == [0, 1, 2]
    assert all(g.memory_total == 143771 * MIB for g in parsed.value.gpus[:3])


def test_xml_entity_declarations_are_refused() -> None:
    bomb = '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><nvidia_smi_log>&a;</nvidia_smi_log>'
    with pytest.raises(ParseError, match="declares entities"):
        parse_xml(bomb)


def test_cgroup_to_container() -> None:
    cid = "8d3f" * 16
    assert container_id_from_cgroup(f"0::/system.slice/docker-{cid}.scope\n") == cid
    assert container_id_from_cgroup(f"12:devices:/docker/{cid}\n11:cpu:/docker/{cid}\n") == cid
    assert container_id_from_cgroup("0::/user.slice/user-0.slice/session-3.scope\n") is None
    assert container_id_from_cgroup(f"0::/kubepods/pod1/cri-containerd-{cid}.scope\n") is None


def test_docker_info_without_json_is_an_unreachable_daemon() -> None:
    info = parse_docker_info("permission denied while trying to connect to the Docker daemon socket")
    assert (info.reachable, info.error) == (False, "`docker info` printed no JSON")


def test_sections_ignore_other_nonces_and_mark_cut_sections() -> None:
    output = (
        "@@n1 begin a\nhello\n\n@@n1 end a 0\n"
        "@@evil begin b\nforged\n@@evil end b 0\n"
        "@@n1 begin c\npartial outp"
    )
    sections = parse_sections(output, "n1")
    assert sections["a"] == Section("hello", 0)
    assert "b" not in sections
    assert sections["c"].status is None and not sections["c"].ok


def test_host_parsers() -> None:
    assert parse_uname("Linux 6.1.0-18-arm64 aarch64\n") == ("linux", "6.1.0-18-arm64", "arm64")
    assert (
        parse_key_values('PRETTY_NAME="Ubuntu 22.04.5 LTS"\nID=ubuntu\n')["PRETTY_NAME"]
        == "Ubuntu 22.04.5 LTS"
    )
    assert parse_meminfo("MemTotal: 1000 kB\nMemFree: 100 kB\nBuffers: 10 kB\nCached: 20 kB\n") == (
        1024000,
        130 * 1024,
    )
    assert (
        parse_df("Filesystem 1-blocks Used Available Capacity Mounted on\n/dev/sda1 100 40 60 40% /\n") == 60
    )
    with pytest.raises(ParseError):
        parse_nproc("zero")
    # /proc/sys/net/ipv4/ip_local_port_range, then ip_local_reserved_ports (empty when none)
    assert parse_local_ports("32768\t60999\n\n") == ((32768, 60999), [])
    assert parse_local_ports("1024 65000\n8080,30000-30999\n") == (
        (1024, 65000),
        [(8080, 8080), (30000, 30999)],
    )
    for garbled in ("32768\n", "a b\n", "32768 60999\n30000-x\n"):
        with pytest.raises(ParseError):
            parse_local_ports(garbled)


def test_listening_sockets_are_their_ports() -> None:
    # `ss -ltn` (iproute2 6.1; old versions print "*:22") on a host with sshd, a resolver and a backend
    ss = (
        "State  Recv-Q Send-Q Local Address:Port  Peer Address:PortProcess\n"
        "LISTEN 0      128          0.0.0.0:22         0.0.0.0:*\n"
        "LISTEN 0      4096   127.0.0.53%lo:53         0.0.0.0:*\n"
        "LISTEN 0      2            0.0.0.0:30000      0.0.0.0:*\n"
        "LISTEN 0      128             [::]:22            [::]:*\n"
        "LISTEN     0      128          *:8080                     *:*\n"
    )
    assert parse_ss_listening(ss) == [22, 53, 8080, 30000]
    # without ss: `awk '$4 == "0A" { print $2 }' /proc/net/tcp /proc/net/tcp6`
    proc = "00000000:0016\n0100007F:1F90\n00000000000000000000000000000000:0016\n00000000:7530\n"
    assert parse_proc_listening(proc) == [22, 8080, 30000]
    assert parse_ss_listening("") == parse_proc_listening("") == []
    for parse, garbled in ((parse_ss_listening, "LISTEN 0 128\n"), (parse_proc_listening, "sl local\n")):
        with pytest.raises(ParseError):
            parse(garbled)
    assert _facts(_sections(listening=Section(ss, 0))).info.listening_ports == [22, 53, 8080, 30000]
    fallback = _facts(_sections(**{"listening-proc": Section(proc, 0)}))
    assert fallback.info.listening_ports == [22, 8080, 30000]


def test_local_ports_become_host_facts_and_garbled_ones_a_warning() -> None:
    facts = _facts(_sections(**{"local-ports": Section("32768\t60999\n30000-30999\n", 0)}))
    assert facts.info.ephemeral_ports == (32768, 60999) and facts.info.reserved_ports == [(30000, 30999)]
    assert facts.info.port_is_ephemeral(40000) and not facts.info.port_is_ephemeral(30500)
    garbled = _facts(_sections(**{"local-ports": Section("32768\n", 0)}))
    assert garbled.status == "ok" and garbled.info.ephemeral_ports is None
    assert "ip_local_port_range" in garbled.warnings[0]


def _sections(**overrides: Section | None) -> dict[str, Section]:
    base = {
        "hostname": Section("gpu-01", 0),
        "uname": Section("Linux 5.15.0-185-generic x86_64", 0),
        "nproc": Section("64", 0),
        "meminfo": Section("MemTotal: 1048576 kB\nMemAvailable: 524288 kB", 0),
        "df": Section("Filesystem 1-blocks Used Available Capacity Mounted on\n/dev/md0 9 4 5 44% /data", 0),
    }
    base.update(overrides)  # type: ignore[arg-type]
    return {k: v for k, v in base.items() if v is not None}


def _facts(sections: dict[str, Section]) -> HostFacts:
    return host_facts("gpu-01", "c", "10.0.0.1", sections)


def test_missing_host_basics_fail_the_probe_with_the_command() -> None:
    facts = _facts(_sections(meminfo=Section("", 1, "cat: /proc/meminfo: No such file or directory")))
    assert facts.status == "probe-failed"
    assert "`cat /proc/meminfo` failed: cat: /proc/meminfo: No such file or directory" in facts.message


def test_garbled_host_basics_fail_the_probe_not_the_run() -> None:
    facts = _facts(_sections(uname=Section("Linux", 0)))
    assert facts.status == "probe-failed"
    assert "uname -s -r -m" in facts.message


def test_failing_df_is_a_warning() -> None:
    facts = _facts(_sections(df=Section("", 1, "df: /data/models: No such file or directory")))
    assert facts.status == "ok" and facts.info.disk_free is None
    assert "df -PB1" in facts.warnings[0]


def test_an_old_driver_that_refuses_the_query_fields_is_read_from_the_table() -> None:
    """Drivers before 450 know no mig.mode.current: both queries fail, the table still lists the GPUs."""
    refused = Section('Field "mig.mode.current" is not a valid field to query.\n', 2)
    table = (FIXTURES / "nvidia/table/mczuk-cuda-utils__gtx1070+titan-rtx__418.87.01.txt").read_text()
    sections = _sections(
        **{
            "nvidia-gpus": refused,
            "nvidia-gpus-basic": refused,
            "nvidia-table": Section(table, 0),
            "nvidia-apps": Section("GPU-x, 2432, /usr/lib/xorg/Xorg, 4713\n", 0),
        }
    )
    facts = _facts(sections)
    assert facts.status == "ok"
    assert [(d.key, d.name, d.memory_total // MIB, d.memory_used // MIB) for d in facts.devices] == [
        ("0", "GeForce GTX 1070", 8116, 5164),
        ("1", "TITAN RTX", 24190, 23176),
    ]
    assert [(p.device_key, p.pid) for p in facts.processes] == [("0", 2432)]
    assert facts.drivers.nvidia_driver == "418.87.01"
    assert any("refused its fields" in w for w in facts.warnings)
    # without a table there is nothing to fall back on: the driver's complaint is the message
    del sections["nvidia-table"]
    failed = _facts(sections)
    assert failed.status == "probe-failed" and "not a valid field" in failed.message


def test_an_npu_table_in_an_unknown_layout_fails_the_host_with_its_first_row() -> None:
    text = (FIXTURES / "ascend/cann-lane-health-test__3x-ascend950pr__npu-smi_info.txt").read_text()
    unknown = text.replace("Health", "State")
    with pytest.raises(ParseError, match=r"no NPU row in a layout gpuctl knows.*Ascend950PR"):
        parse_npu_info(unknown)
    facts = _facts(_sections(**{"npu-info": Section(unknown, 0)}))
    assert facts.status == "probe-failed" and "npu-smi info" in facts.message


def test_npu_mapping_is_read_by_its_header_columns() -> None:
    """Atlas A3 adds Chip Phy-ID before the name; a table without Chip Logic ID gives no logic id
    rather than a wrong one (the 950 header has Slot ID and Chip Phy-ID instead)."""
    a3 = (
        "NPU ID   Chip ID   Chip Logic ID   Chip Phy-ID   Chip Name\n"
        "0        0         0               0             Ascend910\n"
        "0        1         1               1             Ascend910\n"
        "0        2         -               -             Mcu\n"
    )
    rows = parse_npu_mapping(a3).value
    assert [(m.npu_id, m.chip_id, m.logic_id, m.name) for m in rows] == [
        (0, 0, 0, "Ascend910"),
        (0, 1, 1, "Ascend910"),
        (0, 2, None, "Mcu"),
    ]
    without_logic = "NPU ID  Slot ID  Chip ID  Chip Phy-ID  Chip Name\n3  1  0  3  Ascend950PR\n"
    (row,) = parse_npu_mapping(without_logic).value
    assert (row.npu_id, row.chip_id, row.logic_id, row.name) == (3, 0, None, "Ascend950PR")


def test_mig_list_of_the_first_mig_drivers() -> None:
    """Drivers 450/460 named MIG devices MIG-GPU-<uuid>/<gi>/<ci>."""
    text = (
        "GPU 0: A100-SXM4-40GB (UUID: GPU-e91edf3b-b297-37c1-a2a7-7601c3238fa2)\n"
        "  MIG 1g.5gb Device 0: (UUID: MIG-GPU-e91edf3b-b297-37c1-a2a7-7601c3238fa2/7/0)\n"
    )
    _, (mig,) = parse_list(text).value
    assert (mig.gpu, mig.index, mig.profile) == (0, 0, "1g.5gb")
    assert mig.uuid == "MIG-GPU-e91edf3b-b297-37c1-a2a7-7601c3238fa2/7/0"


def test_amd_smi_monitor_vram_columns() -> None:
    """`amd-smi monitor -v` as ROCm/amdsmi's CHANGELOG shows it (ROCm 6.4.2): right-aligned values."""
    text = (
        "GPU  VRAM_USED   VRAM_FREE  VRAM_TOTAL    VRAM%\n"
        "  0     174 MB    16011 MB    16185 MB   0.01 %\n"
        "  1      78 MB      347 MB      425 MB   0.18 %\n"
    )
    rows = parse_amd_smi_monitor(text).value
    assert rows[0] == {
        "VRAM_USED": "174 MB",
        "VRAM_FREE": "16011 MB",
        "VRAM_TOTAL": "16185 MB",
        "VRAM%": "0.01 %",
    }
    assert to_bytes(rows[1]["VRAM_USED"]) == 78 * MIB


# --------------------------------------------------------------------------- fuzzing

PARSERS: dict[str, tuple[Callable[[str], object], list[str]]] = {
    "query-gpu": (
        lambda t: parse_query_gpu(t, GPU_FIELDS),
        ["nvidia/query-gpu-csv/nge__linux-x86_64__nvidia-h100-mig__590.48.01__load__allfields.csv"],
    ),
    "compute-apps": (
        parse_compute_apps,
        ["nvidia/compute-apps/nge__windows-x86_64__nvidia-geforce-rtx-2080-super__591.86__load.csv"],
    ),
    "list": (parse_list, ["nvidia/list/nge__linux-x86_64__nvidia-h200-mig__590.48.01.txt"]),
    "table": (parse_table, ["nvidia/table/nge__linux-x86_64__nvidia-h200-mig__590.48.01__load.txt"]),
    "q-text": (parse_q_text, ["nvidia/q-text/nge__linux-x86_64__nvidia-h100-mig__590.48.01__idle.txt"]),
    "xml": (parse_xml, ["nvidia/xml/telegraf__a100-sxm4-v12.xml"]),
    "npu-info": (
        parse_npu_info,
        [
            "ascend/gpustack-data__ai-server_atlas-800-training-server_model-9010_version-24.1.RC2.txt",
            "ascend/cann-lane-health-test__3x-ascend950pr__npu-smi_info.txt",
        ],
    ),
    "npu-map": (parse_npu_mapping, ["ascend/gpustack-test__310p__npu-smi_info_-m.txt"]),
    "npu-details": (parse_npu_details, ["ascend/gpustack-test__310p__npu-smi_info_-t_usages_-i_1.txt"]),
    "rocm-json": (parse_rocm_smi_json, ["amd/telegraf__mi100_rocm602__rocm-smi_multiflag_--json.json"]),
    "rocm-csv": (
        parse_rocm_smi_csv,
        [
            "amd/localai-pr-7761__rx6800+raphael-igpu__rocm-smi_--showproductname_--showmeminfo_vram_--showuniqueid_--csv.csv"
        ],
    ),
    "amd-static": (
        parse_amd_smi_static,
        ["amd/rocm-blogs__mi300x__amd-smi_static_--json__jq_vram_of_gpu0.json"],
    ),
    "amd-monitor": (parse_amd_smi_monitor, ["amd/rocm-blogs__8x-mi300x__amd-smi_monitor_-putm.txt"]),
    "amd-process": (parse_amd_smi_process, ["amd/rocm-blogs__8x-mi300x__amd-smi_process_--csv.csv"]),
    "containers": (parse_containers, []),
    "docker-info": (parse_docker_info, []),
}


def _mangle(text: str, cut: float, start: float, junk: str) -> str:
    """Cut the text short, then overwrite a stretch of it with junk (as a broken pipe or a
    confused tool would)."""
    text = text[: int(len(text) * cut)]
    at = int(len(text) * start)
    return text[:at] + junk + text[at + len(junk) :]


@pytest.mark.parametrize("name", sorted(PARSERS))
@settings(max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    cut=st.floats(0, 1),
    start=st.floats(0, 1),
    junk=st.text(alphabet=st.characters(codec="utf-8"), max_size=40)
    | st.sampled_from(["|", ",", "\n", ":", "[N/A]", "{", '"', "@@", "MiB", "/", "\r\n", "<gpu>"]),
)
def test_mangled_output_never_raises_anything_but_a_parse_error(
    name: str, cut: float, start: float, junk: str
) -> None:
    parse, files = PARSERS[name]
    texts = [(FIXTURES / f).read_text(encoding="utf-8") for f in files] or ['{"Id": "x", "ServerVersion": 1}']
    for text in texts:
        with contextlib.suppress(ParseError):
            parse(_mangle(text, cut, start, junk))


@settings(max_examples=200, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(
            [
                "hostname",
                "uname",
                "nproc",
                "meminfo",
                "df",
                "local-ports",
                "listening",
                "listening-proc",
                "os-release",
                "nvidia-gpus",
                "nvidia-list",
                "nvidia-table",
                "nvidia-apps",
                "npu-info",
                "npu-map",
                "rocm-smi",
                "amd-smi-static",
                "amd-smi-monitor",
                "amd-smi-process",
                "docker-info",
                "docker-inspect",
                "cgroup:12",
                "cann",
            ]
        ),
        st.builds(Section, st.text(max_size=200), st.none() | st.integers(0, 3), st.text(max_size=20)),
    )
)
def test_any_probe_output_gives_facts_never_a_traceback(sections: dict[str, Section]) -> None:
    facts = _facts(sections)
    assert facts.status in ("ok", "probe-failed")
    if facts.status == "probe-failed":
        assert facts.message
