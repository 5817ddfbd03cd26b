"""Parameter parsing, guard rails on flags and variables gpuctl owns, and estimate requests."""

from __future__ import annotations

from types import ModuleType

import pytest
from pydantic import ValidationError

from gpuctl import backends
from gpuctl.backends import images, params
from gpuctl.errors import GpuctlError


def test_both_flag_forms_and_bare_values_are_understood() -> None:
    parsed, problems = params.parse(
        [
            "--max-model-len=32768",
            "--kv-cache-dtype fp8",
            "--enable-prefix-caching",
            "-tp",
            "2",
            "--served-model-name",
            "a",
            "b",
        ]
    )
    assert problems == []
    assert [(p.flag, p.values) for p in parsed] == [
        ("--max-model-len", ("32768",)),
        ("--kv-cache-dtype", ("fp8",)),
        ("--enable-prefix-caching", ()),
        ("-tp", ("2",)),
        ("--served-model-name", ("a", "b")),
    ]
    # tokens are what the backend receives: `=` forms stay one token, "flag value" items split
    assert params.argv(parsed) == [
        "--max-model-len=32768",
        "--kv-cache-dtype",
        "fp8",
        "--enable-prefix-caching",
        "-tp",
        "2",
        "--served-model-name",
        "a",
        "b",
    ]


def test_negative_numbers_and_json_values_are_values() -> None:
    parsed, problems = params.parse(["-dp", "-1", '--rope-scaling {"type": "yarn", "factor": 4.0}'])
    assert problems == []
    assert parsed[0].value == "-1"
    assert parsed[1].value == '{"type": "yarn", "factor": 4.0}'


def test_a_value_without_a_flag_is_an_error() -> None:
    _, problems = params.parse(["32768", "--x"])
    assert [str(p) for p in problems] == [
        "error: spec.parameters[0]: value '32768' does not follow a flag "
        "(write flags as --flag=value or --flag followed by its value)"
    ]


@pytest.mark.parametrize(
    ("backend", "parameters", "message"),
    [
        (
            "vllm",
            ["--gpu-memory-utilization=1.5"],
            "--gpu-memory-utilization=1.5 is out of range: allowed (0, 1]",
        ),
        ("vllm", ["--max-model-len", "lots"], "--max-model-len value 'lots' is not an integer"),
        # NaN compares false with both bounds: it must not pass as "in range"
        ("vllm", ["--gpu-memory-utilization=nan"], "--gpu-memory-utilization value 'nan' is not a number"),
        ("sglang", ["--mem-fraction-static=inf"], "--mem-fraction-static value 'inf' is not a number"),
        (
            "vllm",
            ["--served-model-name=x"],
            "--served-model-name=x conflicts with the served name gpuctl sets ('demo')",
        ),
        ("sglang", ["--mem-fraction-static", "0"], "--mem-fraction-static=0 is out of range: allowed (0, 1]"),
        (
            "sglang",
            ["--dp-size", "2"],
            "--dp-size=2 is not allowed: gpuctl runs one data-parallel rank per replica",
        ),
        (
            "sglang",
            ["--node-rank", "1"],
            "--node-rank=1 is not allowed: gpuctl numbers the nodes of a replica",
        ),
        ("sglang", ["--model-path", "/x"], "--model-path=/x is not allowed: the model comes from spec.model"),
        ("voxbox", ["--device", "cuda:1"], None),
        ("voxbox", ["--beam-size", "5"], "vox-box has no parameter --beam-size"),
        ("llama-box", ["--rpc", "1.2.3.4:50052"], "--rpc=1.2.3.4:50052 is not allowed"),
        ("llama-box", ["-c", "-5"], "-c=-5 is out of range: allowed [0, *)"),
        (
            "llama-box",
            ["--alias", "other"],
            "--alias=other conflicts with the served name gpuctl sets ('demo')",
        ),
    ],
)
def test_check_parameters(
    build: ModuleType, backend: str, parameters: list[str], message: str | None
) -> None:
    messages = [
        p.message for p in backends.check_parameters(build.deployment(parameters=parameters), backend)
    ]
    if message is None:
        assert messages == []
    else:
        assert len(messages) == 1 and messages[0].startswith(message), messages


def test_consistent_owned_values_are_accepted(build: ModuleType) -> None:
    deployment = build.deployment(servedName="qwen", parameters=["--served-model-name=qwen"])
    assert backends.check_parameters(deployment, "vllm") == []


@pytest.mark.parametrize(
    "name",
    ["CUDA_VISIBLE_DEVICES", "ASCEND_VISIBLE_DEVICES", "ROCR_VISIBLE_DEVICES", "NVIDIA_VISIBLE_DEVICES"],
)
def test_device_variables_are_refused_by_the_spec(build: ModuleType, name: str) -> None:
    """The spec refuses them (with file:line); backends never see such a deployment."""
    with pytest.raises(ValidationError, match=f"gpuctl sets {name} from the placement"):
        build.deployment(env={name: "0"})


def test_mindie_refuses_the_variables_gpustack_removes(build: ModuleType) -> None:
    deployment = build.deployment(
        env={"RANK_TABLE_FILE": "/x", "MIES_CONTAINER_IP": "1.2.3.4", "OMP_NUM_THREADS": "4"}
    )
    paths = [p.path for p in backends.check_parameters(deployment, "mindie")]
    assert paths == ["spec.env.MIES_CONTAINER_IP", "spec.env.RANK_TABLE_FILE"]


def test_a_secret_may_not_take_an_owned_name(build: ModuleType) -> None:
    # device variables are refused by the spec already; MindIE refuses the rank table's
    deployment = build.deployment(secrets={"RANK_TABLE_FILE": {"fromEnv": "X"}})
    [problem] = backends.check_parameters(deployment, "mindie")
    assert problem.path == "spec.secrets.RANK_TABLE_FILE"


def test_estimate_request_reads_the_users_parameters(build: ModuleType, qwen3_8b: object) -> None:
    deployment = build.deployment(
        parameters=[
            "--gpu-memory-utilization=0.8",
            "--max-model-len",
            "16384",
            "--kv-cache-dtype=fp8",
            "--max-num-batched-tokens=4096",
        ],
        placement={"cpuOffload": True},
    )
    request = backends.estimate_request(deployment, qwen3_8b, "vllm", (80 * 2**30,), 1, 1, 64 * 2**30)
    assert (
        request.memory_fraction,
        request.context_length,
        request.kv_cache_dtype,
        request.max_batched_tokens,
    ) == (
        0.8,
        16384,
        "fp8",
        4096,
    )
    assert (request.device_memory, request.cpu_offload, request.host_memory) == (
        (80 * 2**30,),
        True,
        64 * 2**30,
    )


def test_estimate_request_defaults(build: ModuleType, qwen3_8b: object) -> None:
    request = backends.estimate_request(build.deployment(), qwen3_8b, "vllm", (1,), 2, 1, None)
    assert (request.memory_fraction, request.context_length, request.kv_cache_dtype) == (None, None, "auto")
    sglang = backends.estimate_request(
        build.deployment(parameters=["--mem-fraction-static", "0.7", "--context-length=4096"]),
        qwen3_8b,
        "sglang",
        (1,),
        1,
        1,
        None,
    )
    assert (sglang.memory_fraction, sglang.context_length) == (0.7, 4096)


def test_estimate_request_for_mindie_and_llama_box(build: ModuleType, qwen3_8b: object) -> None:
    mindie = backends.estimate_request(
        build.deployment(env={"NPU_MEMORY_FRACTION": "0.6"}, parameters=["--max-prefill-tokens=4096"]),
        qwen3_8b,
        "mindie",
        (1,),
        1,
        1,
        None,
    )
    assert (mindie.memory_fraction, mindie.context_length, mindie.max_batched_tokens) == (0.6, 8192, 4096)
    gguf = build.model(
        {
            "source": "huggingface:x/y",
            "gguf": {"name": "m.gguf", "size": 1, "architecture": "llama", "context_length": 4096},
        }
    )
    default = backends.estimate_request(build.deployment(), gguf, "llama-box", (1,), 1, 1, None)
    assert default.context_length == 4096
    given = backends.estimate_request(
        build.deployment(parameters=["-c", "2048", "-ctk", "q8_0"]), gguf, "llama-box", (1,), 1, 1, None
    )
    assert (given.context_length, given.kv_cache_dtype) == (2048, "q8_0")


def test_estimate_request_refuses_malformed_numbers(build: ModuleType, qwen3_8b: object) -> None:
    with pytest.raises(GpuctlError, match="--gpu-memory-utilization value 'most' is not a number"):
        backends.estimate_request(
            build.deployment(parameters=["--gpu-memory-utilization=most"]), qwen3_8b, "vllm", (1,), 1, 1, None
        )


def test_accelerator_variants_from_device_names(build: ModuleType) -> None:
    assert images.accelerator_for([]) == "cpu"
    assert images.accelerator_for([build.device("h100", 0)]) == "nvidia"
    assert images.accelerator_for([build.device("mi300x", 0)]) == "amd"
    assert images.accelerator_for([build.device("910b3", 0)]) == "ascend-910b"
    assert images.accelerator_for([build.device("310p3", 0)]) == "ascend-310p"
    # npu-smi masks the name on some servers ("xxx"): the 910B toolkit is the default
    assert images.accelerator_for([build.device("910b3", 0, name="xxx")]) == "ascend-910b"


def test_explicit_image_gets_the_mirror_and_missing_images_are_explained(
    build: ModuleType, qwen3_8b: object
) -> None:
    facts = build.host("duo", "10.0.1.12", [build.device("310p3", 0)])
    placement = build.placement(
        "sglang", [{"host": "duo", "address": "10.0.1.12", "devices": ["0"], "port": 40000}], total=1
    )
    cluster = build.cluster(registryMirror="mirror:5000", hosts=[{"name": "duo", "address": "10.0.1.12"}])
    with pytest.raises(GpuctlError, match="gpuctl has no default sglang image for ascend-310p"):
        backends.render(build.deployment(backend="sglang"), cluster, qwen3_8b, placement, {"duo": facts})
    explicit = build.deployment(backend="sglang", image="lmsysorg/sglang:v0.5.5-cann8.2")
    [spec] = backends.render(explicit, cluster, qwen3_8b, placement, {"duo": facts})
    assert spec.image == "mirror:5000/lmsysorg/sglang:v0.5.5-cann8.2"


def test_missing_host_facts_are_explained(build: ModuleType, qwen3_8b: object) -> None:
    placement = build.placement(
        "vllm", [{"host": "gpu-09", "address": "10.0.0.19", "devices": ["0"], "port": 40000}], total=1
    )
    with pytest.raises(GpuctlError, match="no probed facts for host gpu-09"):
        backends.render(build.deployment(), build.cluster(), qwen3_8b, placement, {})


def test_llama_box_projector_must_be_inside_the_model_directory(build: ModuleType) -> None:
    model = build.model(
        {
            "source": "local:/data/gguf/m.gguf",
            "gguf": {"name": "m.gguf", "size": 1, "architecture": "llama", "layers": 2},
        }
    )
    facts = build.host("gpu", "10.0.0.1", [build.device("l40s", 0)])
    placement = build.placement(
        "llama-box",
        [{"host": "gpu", "address": "10.0.0.1", "devices": ["0"], "port": 40000}],
        total=1,
        total_layers=3,
    )
    deployment = build.deployment(
        model={"local": "/data/gguf/m.gguf"}, parameters=["--mmproj", "/other/mmproj.gguf"]
    )
    with pytest.raises(
        GpuctlError, match=r"--mmproj /other/mmproj\.gguf is outside the model directory /data/gguf"
    ):
        backends.render(deployment, build.cluster(), model, placement, {"gpu": facts})
    inside = build.deployment(
        model={"local": "/data/gguf/m.gguf"}, parameters=["--mmproj", "/data/gguf/p.gguf"]
    )
    [spec] = backends.render(inside, build.cluster(), model, placement, {"gpu": facts})
    assert spec.command[spec.command.index("--mmproj") + 1] == "/data/gguf/p.gguf"
