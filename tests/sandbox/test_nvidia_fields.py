"""The `--query-gpu` field catalogue the simulated nvidia-smi answers from is built from real captures.

`gpuctl/sandbox/assets/nvidia_fields.json` holds, per template, every field a real driver accepted
(with its unit and the value it printed when idle) and the aliases from `--help-query-gpu`. This test
rebuilds it from tests/data/fixtures and fails when the committed file differs; regenerate with
`GPUCTL_UPDATE_GOLDEN=1 pytest tests/sandbox/test_nvidia_fields.py` and review the diff.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

FIXTURES = Path(__file__).parents[1] / "data" / "fixtures" / "nvidia"
ASSET = Path(__file__).parents[2] / "gpuctl" / "sandbox" / "assets" / "nvidia_fields.json"

TEMPLATES = {
    # template name: (capture of the driver's help text, idle --query-gpu capture)
    "h100": ("linux-x86_64__nvidia-h100-80gb-hbm3__590.48.01", "h100-80gb-hbm3__590.48.01"),
    "h100-mig": ("linux-x86_64__nvidia-h100-mig__590.48.01", "h100-mig__590.48.01"),
    "geforce": (
        "linux-x86_64__nvidia-geforce-rtx-4080-super__595.71.05",
        "geforce-rtx-4080-super__595.71.05",
    ),
}


def _aliases(capture: str) -> dict[str, str]:
    text = (FIXTURES / "captures-nvidia_gpu_exporter" / f"{capture}.txt").read_text()
    section = text.split("# $ nvidia-smi --help-query-gpu", 1)[1].split("# $ nvidia-smi --help-query-", 1)[0]
    aliases = {}
    for line in section.splitlines():
        names = re.findall(r'"([^"]+)"', line) if line.startswith('"') else []
        for alias in names[1:]:
            aliases[alias] = names[0]
    return aliases


def _fields(query_capture: str) -> list[list[str | None]]:
    path = FIXTURES / "query-gpu-csv" / f"nge__linux-x86_64__nvidia-{query_capture}__idle__allfields.csv"
    header, values = path.read_text().splitlines()[:2]
    fields = []
    for column, value in zip(header.split(", "), values.split(", "), strict=True):
        match = re.fullmatch(r"(\S+)(?: \[(.+)\])?", column)
        assert match, column
        fields.append([match.group(1), match.group(2), value])
    return fields


def build_catalogue() -> dict[str, object]:
    aliases: dict[str, str] = {}
    templates = {}
    for name, (capture, query_capture) in TEMPLATES.items():
        aliases.update(_aliases(capture))
        templates[name] = _fields(query_capture)
    return {"aliases": dict(sorted(aliases.items())), "templates": templates}


def test_catalogue_matches_the_captures() -> None:
    text = json.dumps(build_catalogue(), indent=1) + "\n"
    if os.environ.get("GPUCTL_UPDATE_GOLDEN"):
        ASSET.write_text(text)
    assert ASSET.read_text() == text, "regenerate with GPUCTL_UPDATE_GOLDEN=1 and review the diff"
