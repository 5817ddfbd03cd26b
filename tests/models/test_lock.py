"""gpuctl.lock: round trip, lookup, and stale or missing entries reported by deployment."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gpuctl.errors import GpuctlError
from gpuctl.models.config import model_info_from_config
from gpuctl.models.lock import Lock, check, dump_lock, load_lock, lookup, write_lock
from gpuctl.spec.models import ModelSource

DATA = Path(__file__).parent.parent / "data" / "models"


def qwen() -> tuple[ModelSource, object]:
    config = json.loads((DATA / "Qwen__Qwen3-8B.config.json").read_text())
    info = model_info_from_config(
        config, source="huggingface:Qwen/Qwen3-8B", revision="a" * 40, files={"config.json": 1}
    )
    return ModelSource(huggingface="Qwen/Qwen3-8B", revision="main"), info


def test_round_trip_keeps_the_model_info_but_not_the_file_listing(tmp_path: Path) -> None:
    source, info = qwen()
    lock = Lock(path=str(tmp_path / "gpuctl.lock"))
    lock.add(source, info)
    path = write_lock(lock)
    loaded = load_lock(path)
    found = lookup(loaded, source)
    assert found == info.model_copy(update={"files": {}})
    assert path.read_text().startswith("# Written by `gpuctl lock`")


def test_output_is_deterministic(tmp_path: Path) -> None:
    source, info = qwen()
    first, second = Lock(), Lock()
    first.add(source, info)
    first.add(ModelSource(local="/models/x"), info.model_copy(update={"source": "local:/models/x"}))
    second.add(ModelSource(local="/models/x"), info.model_copy(update={"source": "local:/models/x"}))
    second.add(source, info)
    assert dump_lock(first) == dump_lock(second)


def test_stale_and_missing_entries_are_reported_by_deployment(tmp_path: Path) -> None:
    source, info = qwen()
    lock = Lock(path="gpuctl.lock")
    lock.add(source, info)
    problems = check(
        lock,
        {
            "chat": source,
            "chat-v2": ModelSource(huggingface="Qwen/Qwen3-8B", revision="v2"),
            "embed": ModelSource(huggingface="Qwen/Qwen3-Embedding-8B"),
        },
    )
    assert [(p.code, p.severity) for p in problems] == [
        ("lock-stale", "warning"),
        ("lock-missing", "warning"),
    ]
    assert "deployment chat-v2" in problems[0].message and "revision v2" in problems[0].message
    assert "deployment embed" in problems[1].message and problems[1].location.file == "gpuctl.lock"


def test_missing_file_is_an_empty_lock_and_a_damaged_one_an_error(tmp_path: Path) -> None:
    assert load_lock(tmp_path / "none.lock").entries == {}
    damaged = tmp_path / "gpuctl.lock"
    damaged.write_text("version: 1\nmodels:\n- source: {huggingface: a/b}\n  info: {category: nonsense}\n")
    with pytest.raises(GpuctlError, match="unreadable entry #1"):
        load_lock(damaged)
    damaged.write_text("[1, 2")
    with pytest.raises(GpuctlError, match="cannot be read as YAML"):
        load_lock(damaged)
