from gpuctl.backends.images import all_default_images, default_image, with_mirror
from gpuctl.spec.models import ModelDeployment


def test_default_image_follows_runner_naming() -> None:
    assert default_image("vllm", "nvidia") == "gpustack/runner:cuda12.8-vllm0.11.0"
    assert default_image("mindie", "ascend-910b") == "gpustack/runner:cann8.2-910b-mindie2.1.rc2"
    assert "gpustack/runner:cuda12.8-voxbox0.0.20" in all_default_images()


def test_mirror_rewrites_docker_hub_only() -> None:
    assert with_mirror("gpustack/runner:x", "m:5000") == "m:5000/gpustack/runner:x"
    assert with_mirror("docker.io/gpustack/runner:x", "m:5000/") == "m:5000/gpustack/runner:x"
    assert with_mirror("ghcr.io/a/b:1", "m:5000") == "ghcr.io/a/b:1"
    assert with_mirror("busybox", "m:5000") == "m:5000/library/busybox"
    assert with_mirror("busybox", None) == "busybox"


def test_model_deployment_minimal() -> None:
    doc = ModelDeployment.model_validate(
        {"metadata": {"name": "qwen3-8b"}, "spec": {"model": {"huggingface": "Qwen/Qwen3-8B"}}}
    )
    assert doc.spec.model.kind == "huggingface"
    assert doc.spec.backend == "auto"
