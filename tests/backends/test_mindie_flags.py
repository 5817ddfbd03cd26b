"""Every MindIE flag of the seed's table: bad values are refused with the flag, the value and the
allowed range; every default lands in the generated configuration.

The expectations below are transcribed from the seed document (000, MindIE › Parameters
Reference), not computed from gpuctl's table, so a wrong range or default in gpuctl fails here.
"""

from __future__ import annotations

import json
from types import ModuleType
from typing import Any

import pytest

from gpuctl import backends
from gpuctl.backends import mindie_flags
from gpuctl.errors import GpuctlError

# flag → [(bad value, allowed range as the message must show it)]
OUT_OF_RANGE: dict[str, list[tuple[str, str]]] = {
    "--log-level": [("Trace", "Verbose, Info, Warning, Warn, Error, Debug")],
    "--max-link-num": [("0", "[1, 1000]"), ("1001", "[1, 1000]")],
    "--token-timeout": [("0", "[1, 3600]"), ("3601", "[1, 3600]")],
    "--e2e-timeout": [("0", "[1, 3600]"), ("3601", "[1, 3600]")],
    "--max-seq-len": [("0", "(0, *)")],
    "--max-input-token-len": [("0", "(0, --max-seq-len = 8192]"), ("8193", "(0, --max-seq-len = 8192]")],
    "--cpu-mem-size": [("-1", "[0, *)")],
    "--npu-memory-fraction": [("0", "(0, 1]"), ("1.01", "(0, 1]")],
    "--async-scheduler-wait-time": [("0", "[1, 3600]"), ("3601", "[1, 3600]")],
    "--cache-block-size": [("96", "a power of 2"), ("0", "a power of 2")],
    "--max-prefill-batch-size": [
        ("0", "[1, --max-batch-size = 200]"),
        ("201", "[1, --max-batch-size = 200]"),
    ],
    "--max-prefill-tokens": [("0", "[1, --max-seq-len = 8192]"), ("8193", "[1, --max-seq-len = 8192]")],
    "--prefill-time-ms-per-req": [("-1", "[0, 1000]"), ("1001", "[0, 1000]")],
    "--prefill-policy-type": [("4", "0, 1, 2, 3")],
    "--max-batch-size": [("0", "[1, 5000]"), ("5001", "[1, 5000]")],
    "--max-iter-times": [("0", "[1, --max-seq-len = 8192]"), ("8193", "[1, --max-seq-len = 8192]")],
    "--decode-time-ms-per-req": [("-1", "[0, 1000]"), ("1001", "[0, 1000]")],
    "--decode-policy-type": [("7", "0, 1, 2, 3")],
    "--max-preempt-count": [("-1", "[0, --max-batch-size = 200]"), ("201", "[0, --max-batch-size = 200]")],
    "--max-queue-delay-microseconds": [("499", "[500, 1000000]"), ("1000001", "[500, 1000000]")],
    "--max-first-token-wait-time": [("-1", "[0, 3600000]"), ("3600001", "[0, 3600000]")],
    "--dtype": [("int8", "auto, half, float16, bfloat16, float, float32")],
    "--rope-theta": [("0", "(0, *)")],
    "--policy-type": [("1", "0, 4, 5, 6, 7")],
    "--split-chunk-tokens": [
        ("500", "multiples of 16 in [1, 8192]"),
        ("8208", "multiples of 16 in [1, 8192]"),
    ],
    "--split-start-batch-size": [
        ("-1", "[0, --max-batch-size = 200]"),
        ("201", "[0, --max-batch-size = 200]"),
    ],
    "--memory-decoding-length": [("0", "[1, 16]"), ("17", "[1, 16]")],
    "--lookahead-level": [("2", "[3, 16]"), ("17", "[3, 16]")],
    "--lookahead-window": [("0", "[1, 16]"), ("17", "[1, 16]")],
    "--lookahead-guess-set-size": [("0", "[1, 16]"), ("17", "[1, 16]")],
    "--multi-token-prediction-tokens": [("0", "(0, *)")],
    "--pipeline-parallel-size": [("0", "(0, *)")],
    "--data-parallel-size": [("3", "-1 or a power of 2"), ("0", "-1 or a power of 2")],
    "--context-parallel-size": [("6", "-1 or a power of 2")],
    "--tensor-parallel-size": [("3", "-1 or a power of 2"), ("-2", "-1 or a power of 2")],
    "--sequence-parallel-size": [("5", "-1 or a power of 2")],
    "--moe-expert-parallel-size": [("12", "-1 or a power of 2")],
    "--moe-tensor-parallel-size": [("7", "-1 or a power of 2")],
    "--prefill-expected-time-ms": [("0", "(0, *)")],
    "--decode-expected-time-ms": [("0", "(0, *)")],
}

# flags without a numeric range: a value of the wrong shape is refused, naming flag and value.
ILL_FORMED: dict[str, str] = {
    "--kv-pool-config": "{backend: x}",
    "--truncation": "yes",
    "--trust-remote-code": "1",
    "--models": "not-json",
    "--support-select-batch": "true",
    "--override-generation-config": "[1, 2]",
    "--enforce-eager": "on",
    "--no-metrics": "1",
    "--rope-scaling": "yarn",
    "--enable-split": "1",
    "--enable-memory-decoding": "1",
    "--memory-decoding-dynamic-algo": "1",
    "--enable-lookahead": "1",
    "--enable-multi-token-prediction": "1",
    "--enable-prefix-caching": "1",
    "--enable-buffer-response": "1",
}

# flag → values at the edges of the seed's range (and every choice), which must be accepted.
BOUNDARIES: dict[str, list[str]] = {
    "--log-level": ["Verbose", "Info", "Warning", "Warn", "Error", "Debug"],
    "--max-link-num": ["1", "1000"],
    "--token-timeout": ["1", "3600"],
    "--e2e-timeout": ["1", "3600"],
    "--max-seq-len": ["1", "1048576"],
    "--max-input-token-len": ["1", "8192"],
    "--cpu-mem-size": ["0", "64"],
    "--npu-memory-fraction": ["0.01", "1"],
    "--async-scheduler-wait-time": ["1", "3600"],
    "--cache-block-size": ["1", "16", "512"],
    "--max-prefill-batch-size": ["1", "200"],
    "--max-prefill-tokens": ["8192"],
    "--prefill-time-ms-per-req": ["0", "1000"],
    "--prefill-policy-type": ["0", "1", "2", "3"],
    "--max-batch-size": ["1", "5000"],
    "--max-iter-times": ["1", "8192"],
    "--decode-time-ms-per-req": ["0", "1000"],
    "--decode-policy-type": ["0", "1", "2", "3"],
    "--max-preempt-count": ["0", "200"],
    "--max-queue-delay-microseconds": ["500", "1000000"],
    "--max-first-token-wait-time": ["0", "3600000"],
    "--dtype": ["auto", "half", "float16", "bfloat16", "float", "float32"],
    "--rope-theta": ["1000000", "0.5"],
    "--policy-type": ["0", "4", "5", "6", "7"],
    "--split-chunk-tokens": ["16", "8192"],
    "--split-start-batch-size": ["0", "200"],
    "--memory-decoding-length": ["1", "16"],
    "--lookahead-level": ["3", "16"],
    "--lookahead-window": ["1", "16"],
    "--lookahead-guess-set-size": ["1", "16"],
    "--multi-token-prediction-tokens": ["1", "8"],
    "--pipeline-parallel-size": ["1", "2"],
    "--data-parallel-size": ["-1", "1", "2", "8"],
    "--context-parallel-size": ["-1", "1", "2"],
    "--tensor-parallel-size": ["-1", "1", "16"],
    "--sequence-parallel-size": ["-1", "1"],
    "--moe-expert-parallel-size": ["-1", "1", "4"],
    "--moe-tensor-parallel-size": ["-1", "1", "8"],
    "--prefill-expected-time-ms": ["1"],
    "--decode-expected-time-ms": ["1"],
}

SHORT_ALIASES = {
    "--pipeline-parallel-size": "-pp",
    "--data-parallel-size": "-dp",
    "--context-parallel-size": "-cp",
    "--tensor-parallel-size": "-tp",
    "--sequence-parallel-size": "-sp",
    "--moe-expert-parallel-size": "-moe-ep",
    "--moe-tensor-parallel-size": "-moe-tp",
}

SC, MDC, SCH = "ServerConfig", "BackendConfig.ModelDeployConfig", "BackendConfig.ScheduleConfig"
MC = "BackendConfig.ModelDeployConfig.ModelConfig.0"
PLUGIN = MC + ".plugin_params"
ABSENT = object()

# flag → (where its default lands, the default, parameters that switch its feature on).
# "env:NAME" is a container variable; PLUGIN.key a key of the plugin_params JSON string.
DEFAULTS: dict[str, tuple[str, Any, list[str]]] = {
    "--log-level": ("LogConfig.logLevel", "Info", []),
    "--max-link-num": (f"{SC}.maxLinkNum", 1000, []),
    "--token-timeout": (f"{SC}.tokenTimeout", 60, []),
    "--e2e-timeout": (f"{SC}.e2eTimeout", 60, []),
    "--kv-pool-config": ("BackendConfig.kvPoolConfig", ABSENT, []),
    "--max-seq-len": (f"{MDC}.maxSeqLen", 8192, []),
    "--max-input-token-len": (f"{MDC}.maxInputTokenLen", 8192, []),
    "--truncation": (f"{MDC}.truncation", False, []),
    "--cpu-mem-size": (f"{MC}.cpuMemSize", 0, []),
    "--npu-memory-fraction": ("env:NPU_MEMORY_FRACTION", "0.9", []),
    "--trust-remote-code": (f"{MC}.trustRemoteCode", False, []),
    "--models": (f"{MC}.models", ABSENT, []),
    "--async-scheduler-wait-time": (f"{MC}.async_scheduler_wait_time", 120, []),
    "--cache-block-size": (f"{SCH}.cacheBlockSize", 128, []),
    "--max-prefill-batch-size": (f"{SCH}.maxPrefillBatchSize", 50, []),
    "--max-prefill-tokens": (f"{SCH}.maxPrefillTokens", 8192, []),
    "--prefill-time-ms-per-req": (f"{SCH}.prefillTimeMsPerReq", 150, []),
    "--prefill-policy-type": (f"{SCH}.prefillPolicyType", 0, []),
    "--max-batch-size": (f"{SCH}.maxBatchSize", 200, []),
    "--max-iter-times": (f"{SCH}.maxIterTimes", 8192, []),
    "--decode-time-ms-per-req": (f"{SCH}.decodeTimeMsPerReq", 50, []),
    "--decode-policy-type": (f"{SCH}.decodePolicyType", 0, []),
    "--max-preempt-count": (f"{SCH}.maxPreemptCount", 0, []),
    "--support-select-batch": (f"{SCH}.supportSelectBatch", False, []),
    "--max-queue-delay-microseconds": (f"{SCH}.maxQueueDelayMicroseconds", 5000, []),
    "--max-first-token-wait-time": (f"{SCH}.maxFirstTokenWaitTime", 2500, []),
    "--override-generation-config": ("file:patch-generation_config.json", ABSENT, []),
    "--enforce-eager": ("env:MINDIE_ASYNC_SCHEDULING_ENABLE", "1", []),
    "--no-metrics": ("env:MIES_SERVICE_MONITOR_MODE", "1", []),
    "--dtype": ("file:patch-config.json", ABSENT, []),
    "--rope-scaling": ("file:patch-config.json", ABSENT, []),
    "--rope-theta": ("file:patch-config.json", ABSENT, []),
    "--enable-split": (f"{SCH}.enableSplit", ABSENT, []),
    "--policy-type": (f"{SCH}.policyType", 0, ["--enable-split"]),
    "--split-chunk-tokens": (f"{SCH}.splitChunkTokens", 512, ["--enable-split"]),
    "--split-start-batch-size": (f"{SCH}.splitStartBatchSize", 16, ["--enable-split"]),
    "--enable-memory-decoding": (PLUGIN, ABSENT, []),
    "--memory-decoding-length": (f"{PLUGIN}.decoding_length", 16, ["--enable-memory-decoding"]),
    "--memory-decoding-dynamic-algo": (f"{PLUGIN}.dynamic_algo", False, ["--enable-memory-decoding"]),
    "--enable-lookahead": (PLUGIN, ABSENT, []),
    "--lookahead-level": (f"{PLUGIN}.level", 4, ["--enable-lookahead"]),
    "--lookahead-window": (f"{PLUGIN}.window", 5, ["--enable-lookahead"]),
    "--lookahead-guess-set-size": (f"{PLUGIN}.guess_set_size", 5, ["--enable-lookahead"]),
    "--enable-multi-token-prediction": (PLUGIN, ABSENT, []),
    "--multi-token-prediction-tokens": (
        f"{PLUGIN}.num_speculative_tokens",
        1,
        ["--enable-multi-token-prediction"],
    ),
    "--enable-prefix-caching": (f"{SCH}.enablePrefixCache", ABSENT, []),
    # Parallel sizes: -1 (and pp 1) mean "not set"; tp and moe-tp -1 mean the world size (4 NPUs),
    # written once any parallel flag is given.
    "--pipeline-parallel-size": (f"{MC}.pp", ABSENT, ["-tp", "4"]),
    "--data-parallel-size": (f"{MC}.dp", ABSENT, ["-pp", "1"]),
    "--context-parallel-size": (f"{MC}.cp", ABSENT, ["-pp", "1"]),
    "--tensor-parallel-size": (f"{MC}.tp", 4, ["-pp", "1"]),
    "--sequence-parallel-size": (f"{MC}.sp", ABSENT, ["-pp", "1"]),
    "--moe-expert-parallel-size": (f"{MC}.moe_ep", ABSENT, ["-pp", "1"]),
    "--moe-tensor-parallel-size": (f"{MC}.moe_tp", 4, ["-pp", "1"]),
    "--enable-buffer-response": (f"{SCH}.bufferResponseEnabled", ABSENT, []),
    "--prefill-expected-time-ms": (f"{SCH}.prefillExpectedTime", ABSENT, []),
    "--decode-expected-time-ms": (f"{SCH}.decodeExpectedTime", ABSENT, []),
}


def _deployment(build: ModuleType, parameters: list[str], **spec: Any) -> Any:
    return build.deployment("mindie-test", backend="mindie", parameters=parameters, **spec)


def _render(
    build: ModuleType, parameters: list[str], **spec: Any
) -> tuple[dict[str, Any], dict[str, str], dict[str, str]]:
    """(config.json, the container's env, other HostFiles by name) for 4 NPUs and Qwen3-8B."""
    model = build.model_from_config("Qwen__Qwen3-8B.config.json", source="huggingface:Qwen/Qwen3-8B")
    facts = build.host("npu-01", "10.0.1.11", [build.device("910b3", i) for i in range(4)])
    placement = build.placement(
        "mindie",
        [{"host": "npu-01", "address": "10.0.1.11", "devices": ["0", "1", "2", "3"], "port": 40300}],
        deployment_name="mindie-test",
        tp=4,
        total=30 * build.GiB,
    )
    deployment = _deployment(build, parameters, **spec)
    [container] = backends.render(deployment, build.cluster(), model, placement, {"npu-01": facts})
    files = {f.path.rsplit("/", 1)[1]: f.content for f in container.files}
    return json.loads(files.pop("config.json")), container.env, files


def _lookup(config: dict[str, Any], path: str) -> Any:
    node: Any = config
    for part in path.split("."):
        if isinstance(node, str):
            node = json.loads(node)
        if isinstance(node, list):
            node = node[int(part)]
        elif part in node:
            node = node[part]
        else:
            return ABSENT
    return node


def test_table_matches_the_seed() -> None:
    seed_flags = set(OUT_OF_RANGE) | set(ILL_FORMED)
    assert {flag.name for flag in mindie_flags.FLAGS} == seed_flags == set(DEFAULTS)
    assert {flag.name: flag.aliases[0] for flag in mindie_flags.FLAGS if flag.aliases} == SHORT_ALIASES


@pytest.mark.parametrize(
    ("flag", "value", "allowed"),
    [(flag, value, allowed) for flag, cases in OUT_OF_RANGE.items() for value, allowed in cases],
)
def test_out_of_range_value_is_refused(build: ModuleType, flag: str, value: str, allowed: str) -> None:
    problems = backends.check_parameters(_deployment(build, [f"{flag}={value}"]), "mindie")
    messages = [str(p) for p in problems if p.severity == "error"]
    assert len(messages) == 1, messages
    assert f"{flag}={value}" in messages[0]
    assert allowed in messages[0]
    assert "spec.parameters[0]" in messages[0]


@pytest.mark.parametrize(("flag", "alias"), SHORT_ALIASES.items())
def test_short_aliases_are_checked_like_the_long_flag(build: ModuleType, flag: str, alias: str) -> None:
    value = OUT_OF_RANGE[flag][0][0]
    problems = backends.check_parameters(_deployment(build, [alias, value]), "mindie")
    assert [p.code for p in problems] == ["parameter-out-of-range"]
    assert f"{alias}={value}" in problems[0].message


@pytest.mark.parametrize(("flag", "value"), ILL_FORMED.items())
def test_ill_formed_value_is_refused(build: ModuleType, flag: str, value: str) -> None:
    problems = backends.check_parameters(_deployment(build, [f"{flag}={value}"]), "mindie")
    assert len(problems) == 1
    assert flag in problems[0].message
    assert value in problems[0].message


@pytest.mark.parametrize(
    ("flag", "value"), [(flag, value) for flag, values in BOUNDARIES.items() for value in values]
)
def test_values_at_the_edges_of_the_range_are_accepted(build: ModuleType, flag: str, value: str) -> None:
    problems = backends.check_parameters(_deployment(build, [f"{flag}={value}"]), "mindie")
    assert [str(p) for p in problems if p.severity == "error"] == []


@pytest.mark.parametrize(
    ("flag", "value", "allowed"),
    [
        ("--max-link-num", "ten", "allowed [1, 1000]"),
        ("--max-link-num", "1.5", "allowed [1, 1000]"),
        ("--npu-memory-fraction", "nan", "allowed (0, 1]"),
        ("--rope-theta", "inf", "allowed (0, *)"),
        ("--max-preempt-count", "x", "allowed [0, --max-batch-size]"),
        ("-tp", "two", "allowed -1 or a power of 2"),
        ("--kv-pool-config", "[1]", "allowed a JSON object"),
        ("--enable-split", "true", "allowed --enable-split or --no-enable-split"),
        ("--trust-remote-code", "1", "allowed --trust-remote-code alone"),
    ],
)
def test_ill_typed_value_names_what_is_allowed(
    build: ModuleType, flag: str, value: str, allowed: str
) -> None:
    [problem] = backends.check_parameters(_deployment(build, [f"{flag}={value}"]), "mindie")
    assert f"{flag}={value}" in problem.message and allowed in problem.message, problem.message


def test_switches_accept_their_negation(build: ModuleType) -> None:
    switches = [flag.name for flag in mindie_flags.FLAGS if flag.negatable]
    parameters = [f"--no-{name[2:]}" for name in switches]
    assert backends.check_parameters(_deployment(build, parameters), "mindie") == []
    config, _, _ = _render(build, ["--enable-split", "--no-enable-split"])
    assert "enableSplit" not in config["BackendConfig"]["ScheduleConfig"]


@pytest.mark.parametrize(
    ("feature", "plugin"),
    [
        (["--enable-split"], {"plugin_type": "splitfuse,prefix_cache"}),
        (
            ["--enable-multi-token-prediction", "--multi-token-prediction-tokens=2"],
            {"plugin_type": "mtp,prefix_cache", "num_speculative_tokens": 2},
        ),
        (
            ["--enable-lookahead"],
            {"plugin_type": "la,prefix_cache", "level": 4, "window": 5, "guess_set_size": 5},
        ),
        (
            ["--enable-memory-decoding"],
            {"plugin_type": "memory_decoding,prefix_cache", "decoding_length": 16, "dynamic_algo": False},
        ),
    ],
)
def test_prefix_caching_combines_with_one_other_plugin(
    build: ModuleType, feature: list[str], plugin: dict[str, Any]
) -> None:
    """MindIE lists plugins comma-separated ("mtp,prefix_cache"); GPUStack accepts these pairs."""
    config, _, _ = _render(build, [*feature, "--enable-prefix-caching"])
    model_config = config["BackendConfig"]["ModelDeployConfig"]["ModelConfig"][0]
    assert json.loads(model_config["plugin_params"]) == plugin
    assert config["BackendConfig"]["ScheduleConfig"]["enablePrefixCache"] is True


@pytest.mark.parametrize("flag", DEFAULTS)
def test_default_lands_in_the_configuration(build: ModuleType, flag: str) -> None:
    where, default, switch = DEFAULTS[flag]
    config, env, files = _render(build, switch)
    if where.startswith("env:"):
        assert env[where[4:]] == default
    elif where.startswith("file:"):
        assert (where[5:] in files) is (default is not ABSENT)
    else:
        assert _lookup(config, where) == default


def test_explicit_values_land_where_the_table_says(build: ModuleType) -> None:
    config, env, _ = _render(
        build,
        [
            "--max-link-num=10",
            "--max-seq-len=4096",
            "--max-prefill-tokens=2048",
            "--max-batch-size=32",
            "--npu-memory-fraction=0.75",
            "--enable-lookahead",
            "--lookahead-level=8",
        ],
    )
    assert config["ServerConfig"]["maxLinkNum"] == 10
    deploy = config["BackendConfig"]["ModelDeployConfig"]
    assert (deploy["maxSeqLen"], deploy["maxInputTokenLen"]) == (4096, 2048)
    assert deploy["speculationGamma"] == (8 - 1) * (5 + 5)
    schedule = config["BackendConfig"]["ScheduleConfig"]
    # the default 50 is clamped to an explicit smaller batch size; explicit values never are
    assert (schedule["maxBatchSize"], schedule["maxPrefillBatchSize"], schedule["maxIterTimes"]) == (
        32,
        32,
        4096,
    )
    model_config = deploy["ModelConfig"][0]
    assert json.loads(model_config["plugin_params"]) == {
        "plugin_type": "la",
        "level": 8,
        "window": 5,
        "guess_set_size": 5,
    }
    assert env["NPU_MEMORY_FRACTION"] == "0.75"
    assert env["MINDIE_ASYNC_SCHEDULING_ENABLE"] == "0"  # batches of 50 or less


@pytest.mark.parametrize(
    ("parameters", "both"),
    [
        (
            ["--enable-prefix-caching", '--rope-scaling={"type": "yarn", "factor": 4.0}'],
            ("--rope-scaling", "--enable-prefix-caching"),
        ),
        (["--enable-split", "--enable-lookahead"], ("--enable-split", "--enable-lookahead")),
        (
            ["--enable-memory-decoding", "--enable-lookahead"],
            ("--enable-memory-decoding", "--enable-lookahead"),
        ),
        (
            ["--enable-multi-token-prediction", "--enable-split"],
            ("--enable-split", "--enable-multi-token-prediction"),
        ),
        (["-dp", "2", "--enable-prefix-caching"], ("--data-parallel-size", "--enable-prefix-caching")),
        (["-pp", "2", "-dp", "2"], ("--pipeline-parallel-size", "--data-parallel-size")),
        (["-dp", "2", "-cp", "2"], ("--data-parallel-size", "--context-parallel-size")),
    ],
)
def test_mutually_exclusive_features_are_refused(
    build: ModuleType, parameters: list[str], both: tuple[str, str]
) -> None:
    problems = backends.check_parameters(_deployment(build, parameters), "mindie")
    exclusive = [p for p in problems if p.code == "parameter-exclusive"]
    assert len(exclusive) == 1, problems
    message = exclusive[0].message
    for flag in both:
        assert flag in message or f"{SHORT_ALIASES.get(flag)}=" in message, message


def test_cross_field_ranges(build: ModuleType) -> None:
    problems = backends.check_parameters(
        _deployment(
            build, ["--max-input-token-len=4096", "--max-prefill-tokens=2048", "-tp", "4", "-sp", "2"]
        ),
        "mindie",
    )
    text = "\n".join(str(p) for p in problems)
    assert (
        "--max-prefill-tokens=2048" in text and "[--max-input-token-len = 4096, --max-seq-len = 8192]" in text
    )
    assert "-sp=2" in text and "allowed --tensor-parallel-size = 4" in text


def test_buffer_response_needs_both_latency_targets(build: ModuleType) -> None:
    problems = backends.check_parameters(
        _deployment(build, ["--enable-buffer-response", "--prefill-expected-time-ms=500"]), "mindie"
    )
    assert [p.message for p in problems] == ["--enable-buffer-response needs --decode-expected-time-ms too"]


def test_unknown_flag_suggests_the_closest(build: ModuleType) -> None:
    [problem] = backends.check_parameters(_deployment(build, ["--max-link-nums=5"]), "mindie")
    assert problem.message == "MindIE has no parameter --max-link-nums"
    assert problem.hint and "--max-link-num" in problem.hint


def test_npu_memory_fraction_env_is_the_flags_other_spelling(build: ModuleType) -> None:
    bad = backends.check_parameters(_deployment(build, [], env={"NPU_MEMORY_FRACTION": "1.2"}), "mindie")
    assert [str(p) for p in bad] == [
        "error: spec.env.NPU_MEMORY_FRACTION: NPU_MEMORY_FRACTION=1.2 is out of range: allowed (0, 1]"
    ]
    with pytest.raises(
        GpuctlError, match=r"NPU_MEMORY_FRACTION='0.5' conflicts with the value gpuctl sets \('0.8'\)"
    ):
        _render(build, ["--npu-memory-fraction=0.8"], env={"NPU_MEMORY_FRACTION": "0.5"})


@pytest.mark.parametrize(
    ("parameters", "message"),
    [
        (["-tp", "8"], "-tp 8 make 8 ranks, but the placement gives 4 NPUs"),
        (["-pp", "2", "-tp", "4"], "-pp 2 × -tp 4 make 8 ranks"),
        (["-dp", "4", "-tp", "2"], "-dp 4 × -tp 2 make 8 ranks"),
        (["-moe-ep", "2", "-moe-tp", "4"], "-moe-ep 2 × -moe-tp 4 make 8 ranks"),
    ],
)
def test_parallel_sizes_must_match_the_npus(build: ModuleType, parameters: list[str], message: str) -> None:
    with pytest.raises(GpuctlError, match=message.replace("×", ".")):
        _render(build, parameters)


def test_data_parallel_resolves_tensor_parallel_from_the_world(build: ModuleType) -> None:
    config, _, _ = _render(build, ["-dp", "2"])
    model_config = config["BackendConfig"]["ModelDeployConfig"]["ModelConfig"][0]
    assert (model_config["dp"], model_config["tp"], model_config["moe_tp"]) == (2, 2, 4)


def test_pipeline_parallel_resolves_tensor_parallel_from_the_world(build: ModuleType) -> None:
    config, _, _ = _render(build, ["-pp", "2"])
    model_config = config["BackendConfig"]["ModelDeployConfig"]["ModelConfig"][0]
    assert (model_config["pp"], model_config["tp"]) == (2, 2)
    assert "moe_tp" not in model_config
