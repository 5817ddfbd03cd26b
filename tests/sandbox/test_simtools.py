"""The simulated vendor tools print what the real ones print (tests/data/fixtures): these tests build
a host like the captured machine and compare byte for byte where the values can agree, and the
column layout (line widths, separator positions, static text) where they cannot."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from gpuctl.sandbox import hoststate
from gpuctl.sandbox.hoststate import ForeignProcess, HostView
from gpuctl.sandbox.profiles import (
    A100_40G,
    ASCEND_910B3,
    DEBIAN_12,
    H100,
    H100_MIG_LAYOUT,
    MI300X,
    PROFILES,
    RTX_4090,
    DeviceSlot,
    Profile,
)
from gpuctl.sandbox.simtools import host, npu_smi, nvidia_smi, rocm_smi, run

FIXTURES = Path(__file__).parents[1] / "data" / "fixtures"
NOW = 1_784_000_000.0


def machine(*slots: DeviceSlot, driver: str = "590.48.01", cuda: str = "13.1", **extra: str) -> Profile:
    return Profile(
        name="captured",
        short="cap",
        description="a host like a captured machine",
        cpus=8,
        memory_gib=64,
        distro=DEBIAN_12,
        kernel="6.1.0-37-amd64",
        devices=slots,
        nvidia_driver=driver,
        cuda_version=cuda,
        **extra,
    )


def view(profile: Profile, *processes: ForeignProcess) -> HostView:
    return HostView("t", "t-cap-1", profile, hoststate.expand("t", "t-cap-1", profile), processes)


def fixture(path: str) -> list[str]:
    return (FIXTURES / path).read_text().splitlines()


STATIC = re.compile(
    r"[-+=|]+|.*(Name|Memory-Usage|MIG M\.|Processes:|Process name|MIG devices|Shared|  ID  ).*"
)


def layout(line: str) -> tuple[int, list[int]]:
    """Width of a line and where its column separators are."""
    return len(line), [i for i, char in enumerate(line) if char == "|"]


def assert_same_layout(ours: list[str], real: list[str]) -> None:
    assert len(ours) == len(real)
    for mine, theirs in zip(ours, real, strict=True):
        assert layout(mine) == layout(theirs), f"\nours: {mine!r}\nreal: {theirs!r}"
        if STATIC.fullmatch(theirs):  # rules and headers must be identical
            assert mine == theirs


def test_table_matches_h100_capture_byte_for_byte() -> None:
    real = fixture("nvidia/table/nge__linux-x86_64__nvidia-h100-80gb-hbm3__590.48.01__idle.txt")
    ours = nvidia_smi.table(view(machine(DeviceSlot(H100, "00000000:00:09.0"))), NOW).splitlines()
    assert re.fullmatch(r"\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4} {7}", ours[0])
    assert ours[1:] == real[1:]


def test_table_with_mig_and_processes_has_the_captured_layout() -> None:
    real = fixture("nvidia/table/nge__linux-x86_64__nvidia-h100-mig__590.48.01__load.txt")
    host_ = machine(DeviceSlot(H100, "00000000:00:09.0", mig=H100_MIG_LAYOUT))
    processes = [ForeignProcess("0/0", pid, "/root/tools/memhog", 2296) for pid in (21180, 21181, 21198)]
    ours = nvidia_smi.table(view(host_, *processes), NOW).splitlines()
    assert_same_layout(ours, real)
    assert "|  0    2   0   0  |            6888MiB / 40448MiB    | 60      0 |" in ours[20]
    assert (
        ours[-2]
        == "|    0    2    0            21198      C   /root/tools/memhog                     2296MiB |"
    )


def test_table_of_570_driver_has_the_older_layout() -> None:
    real = fixture("nvidia/table/cllm_baseline__8x-h200__570.133.20.txt")
    buses = ("8D", "91", "95", "99", "AB", "AF", "B3", "B7")
    host_ = machine(
        *(DeviceSlot(A100_40G, f"00000000:{b}:00.0") for b in buses), driver="570.133.20", cuda="12.8"
    )
    assert_same_layout(nvidia_smi.table(view(host_), NOW).splitlines(), real)


@pytest.mark.parametrize(
    ("capture", "slot", "driver"),
    [
        ("nge__linux-x86_64__nvidia-geforce-rtx-4080-super__595.71.05__load.txt", RTX_4090, "595.71.05"),
        ("gpu_and_inference_hw__1x-l40s__580.126.09.txt", H100, "580.126.09"),
    ],
)
def test_table_process_rows_have_the_captured_layout(capture: str, slot, driver: str) -> None:
    real = fixture(f"nvidia/table/{capture}")
    rows = [line for line in real if re.match(r"\|\s+0\s+N/A", line)]
    processes = [ForeignProcess("0", 1000 + i, "/usr/bin/a-process", 100 * i) for i in range(len(rows))]
    ours = nvidia_smi.table(
        view(machine(DeviceSlot(slot, "00000000:01:00.0"), driver=driver), *processes), NOW
    )
    assert_same_layout(ours.splitlines()[1:], real[1:])


def test_list_gpus_matches_the_mig_capture() -> None:
    real = fixture("nvidia/list/nge__linux-x86_64__nvidia-h100-mig__590.48.01.txt")
    ours = nvidia_smi.list_gpus(view(machine(DeviceSlot(H100, "00000000:00:09.0", mig=H100_MIG_LAYOUT))))

    def mask(text: str) -> str:
        return re.sub(r"(GPU|MIG)-[0-9a-f-]+", r"\1-UUID", text)

    assert mask(ours).splitlines() == mask("\n".join(real)).splitlines()


def allfields_capture(state: str) -> tuple[list[str], list[str], list[str]]:
    base = (
        FIXTURES
        / "nvidia/query-gpu-csv"
        / f"nge__linux-x86_64__nvidia-h100-80gb-hbm3__590.48.01__{state}__allfields"
    )
    query = re.search(r"--query-gpu=(\S+)", Path(f"{base}.csv.cmd").read_text()).group(1).split(",")
    header, values = Path(f"{base}.csv").read_text().splitlines()[:2]
    return query, header.split(", "), values.split(", ")


def test_query_gpu_answers_every_field_of_the_real_driver() -> None:
    query, header, values = allfields_capture("idle")
    output, status = nvidia_smi.run(
        view(machine(DeviceSlot(H100, "00000000:00:09.0"))),
        [f"--query-gpu={','.join(query)}", "--format=csv"],
        NOW,
    )
    assert status == 0
    our_header, our_values = output.splitlines()
    assert our_header.split(", ") == header
    # Readings that differ between a capture and any other moment or board; everything else is equal.
    moving = {"timestamp", "serial", "uuid", "memory.free [MiB]"} | {
        h for h in header if h.startswith("power.draw")
    }
    differing = {
        h for h, ours, real in zip(header, our_values.split(", "), values, strict=True) if ours != real
    }
    assert differing <= moving


def test_query_gpu_formats_and_aliases() -> None:
    host_ = view(machine(DeviceSlot(H100, "00000000:00:09.0"), DeviceSlot(H100, "00000000:00:0A.0")))
    host_ = HostView(
        host_.sandbox, host_.host, host_.profile, host_.devices, (ForeignProcess("1", 7, "x", 1234),)
    )
    query = "--query-gpu=index,gpu_name,memory.total,memory.used,clocks.gr"
    out, _ = nvidia_smi.run(host_, [query, "--format=csv,nounits"], NOW)
    assert out.splitlines() == [
        "index, name, memory.total [MiB], memory.used [MiB], clocks.current.graphics [MHz]",
        "0, NVIDIA H100 80GB HBM3, 81559, 0, 345",
        "1, NVIDIA H100 80GB HBM3, 81559, 1234, 345",
    ]
    out, _ = nvidia_smi.run(host_, [query, "--format=csv,noheader", "-i", "1"], NOW)
    assert out == "1, NVIDIA H100 80GB HBM3, 81559 MiB, 1234 MiB, 345 MHz\n"


def test_query_gpu_refuses_unknown_fields_like_the_real_tool() -> None:
    host_ = view(machine(DeviceSlot(H100, "00000000:00:09.0")))
    assert nvidia_smi.run(host_, ["--query-gpu=device_minor", "--format=csv"], NOW) == (
        'Field "device_minor" is not a valid field to query.\n\n',
        2,
    )
    assert nvidia_smi.run(host_, ["--query-gpu=name"], NOW)[1] == 2
    assert nvidia_smi.run(host_, ["--bogus"], NOW) == (nvidia_smi.INVALID_ARGS, 2)


def test_compute_apps_match_the_capture_header_and_report_mig_processes_on_their_gpu() -> None:
    cmd = fixture("nvidia/compute-apps/nge__linux-x86_64__nvidia-h100-mig__590.48.01__load.csv.cmd")[0]
    real = fixture("nvidia/compute-apps/nge__linux-x86_64__nvidia-h100-mig__590.48.01__load.csv")
    host_ = view(
        machine(DeviceSlot(H100, "00000000:00:09.0", mig=H100_MIG_LAYOUT)),
        ForeignProcess("0/2", 21180, "/root/tools/memhog", 2296),
    )
    out, _ = nvidia_smi.run(host_, cmd.split()[1:], NOW)
    header, row = out.splitlines()
    assert header == real[0]
    assert row.split(", ")[1:] == [
        "NVIDIA H100 80GB HBM3",
        "00000000:00:09.0",
        host_.devices[0].serial,
        host_.devices[0].uuid,
        "21180",
        "/root/tools/memhog",
        "2296 MiB",
    ]
    out, _ = nvidia_smi.run(
        host_, ["--query-compute-apps=gpu_uuid,pid,name,used_memory", "--format=csv,noheader,nounits"], NOW
    )
    assert out == f"{host_.devices[0].uuid}, 21180, /root/tools/memhog, 2296\n"


def test_npu_smi_info_has_the_910b3_layout() -> None:
    real = fixture("ascend/ms-swift__8x-910b3__npu-smi_info.txt")
    profile = PROFILES["ascend-8x910b"]
    ours = npu_smi.info(view(profile, ForeignProcess("3", 4242, "mindieservice_d", 2048))).splitlines()
    assert_same_layout(ours[: len(real)], real)
    assert ours[1] == real[1]
    assert (
        "| 0                         | 0000:82:00.0  | 0           0    / 0          2048 / 65536         |"
        in ours
    )
    processes = ours[len(real) :]
    assert all(len(line) == 98 for line in processes)
    assert (
        "| 3       0                 | 4242          | mindieservice_d          | 2048                    |"
        in processes
    )
    assert processes.count("| No running processes found in NPU 0".ljust(97) + "|") == 1


def test_npu_smi_mapping_and_details_match_gpustack_captures() -> None:
    ours = npu_smi.mapping(view(PROFILES["ascend-8x910b"])).replace("Ascend 910B3", "Ascend xxx")
    assert ours.splitlines() == fixture("ascend/gpustack-test__910b__npu-smi_info_-m.txt")
    for kind in ("usages", "common"):
        real = fixture(f"ascend/gpustack-test__910b__npu-smi_info_-t_{kind}_-i_0.txt")
        out, status = npu_smi.run(view(PROFILES["ascend-8x910b"]), ["info", "-t", kind, "-i", "0"])
        assert status == 0
        ours = out.splitlines()
        assert [line[:8] for line in ours if line] == ["        "] * len([line for line in ours if line])
        assert [line.split(":")[0] for line in ours] == [
            line.split(":")[0] for line in (" " * 8 + r if r else r for r in real)
        ]


def test_rocm_smi_json_keys_follow_the_real_order() -> None:
    (capture,) = (FIXTURES / "amd").glob("gpustack__rx7800xt-rocm6.2.4__rocm-smi_*--json.json")
    real = json.loads(capture.read_text())
    command = capture.name.split("__")[2].removesuffix(".json").removeprefix("rocm-smi_")
    args = command.replace("_", " ").split()
    profile = machine(DeviceSlot(MI300X, "0000:05:00.0"), driver="", rocm_version="7.0.0")
    out, status = rocm_smi.run(view(profile), args)
    assert status == 0 and out.count("\n") == 1  # one line, as json.dumps prints it
    assert list(json.loads(out)["card0"]) == list(real["card0"])


def test_rocm_smi_csv_header_matches_the_capture() -> None:
    real = fixture(
        "amd/localai-pr-7761__rx6800+raphael-igpu__rocm-smi_--showproductname_--showmeminfo_vram_--showuniqueid_--csv.csv"
    )
    out, _ = rocm_smi.run(
        view(PROFILES["amd-8xmi300x"], ForeignProcess("1", 9, "p", 1024)),
        ["--showproductname", "--showmeminfo", "vram", "--showuniqueid", "--csv"],
    )
    lines = out.splitlines()
    assert lines[0] == real[0]
    assert lines[2].split(",")[3] == str(1024 * 1024 * 1024)
    assert len(lines) == 1 + 8 + 1  # header, cards, the blank line print() adds


def test_host_commands_report_the_profile() -> None:
    profile = PROFILES["nvidia-8xh100"]
    assert host.nproc(profile, []) == ("224\n", 0)
    assert host.uname(profile, "h", ["-s", "-r", "-m"]) == ("Linux 5.15.0-185-generic x86_64\n", 0)
    assert host.uname(profile, "h", ["-n"]) == ("h\n", 0)
    meminfo = host.meminfo(profile).splitlines()
    assert meminfo[0] == f"MemTotal:       {2048 * 1024 * 1024} kB"
    assert 'PRETTY_NAME="Ubuntu 22.04.5 LTS"' in host.os_release(profile)
    ascend = host.files(PROFILES["ascend-8x910b"])
    assert (
        "version=8.2.RC1"
        in ascend["/usr/local/Ascend/ascend-toolkit/latest/x86_64-linux/ascend_toolkit_install.info"]
    )


def test_set_memory_keeps_one_figure_per_process(tmp_path: Path) -> None:
    hoststate.write_host(tmp_path, "s", "s-h100mig-1", "nvidia-h100-mig")
    hoststate.set_memory(tmp_path, "0/1", 1000)
    hoststate.set_memory(tmp_path, "0/1", 1500)
    hoststate.set_memory(tmp_path, "1", 500, pid=77, name="trainer")
    state = hoststate.load(tmp_path)
    assert {(p.device_key, p.memory_mib) for p in state.processes} == {("0/1", 1500), ("1", 500)}
    assert state.used_mib("0") == 1500
    out, _ = run("nvidia-smi", state, [])
    assert "|  0    3   0   1  |            1500MiB / 20096MiB    |" in out
    hoststate.set_memory(tmp_path, "0/1", 0)
    assert [p.pid for p in hoststate.load(tmp_path).processes] == [77]
    with pytest.raises(ValueError, match="its devices are: 0/0, 0/1, 0/2, 0/3, 1"):
        hoststate.set_memory(tmp_path, "0", 10)
    with pytest.raises(ValueError, match="has 20096 MiB"):
        hoststate.set_memory(tmp_path, "0/1", 30000)


def test_uuids_are_stable_and_distinct_per_host() -> None:
    profile = PROFILES["nvidia-8xh100"]
    first = hoststate.expand("s", "s-h100-1", profile)
    assert first == hoststate.expand("s", "s-h100-1", profile)
    other = hoststate.expand("s", "s-h100-2", profile)
    assert not {d.uuid for d in first} & {d.uuid for d in other}
    assert len({d.uuid for d in first}) == 8
    assert first[0].slot.accelerator is H100 and ASCEND_910B3.vendor == "ascend"
