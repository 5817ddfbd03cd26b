"""What counts as a literal secret in env and parameters, and what does not."""

from __future__ import annotations

import pytest

from gpuctl.spec.secrets import literal_secrets, secret_shape

HF = "hf_" + "AbCdEfGhIjKlMnOpQrStUvWxYz012345"


@pytest.mark.parametrize(
    ("env", "paths"),
    [
        ({"HF_TOKEN": "abc"}, [("env", "HF_TOKEN")]),
        ({"OPENAI_API_KEY": "x1"}, [("env", "OPENAI_API_KEY")]),
        ({"AWS_SECRET_ACCESS_KEY": "x"}, [("env", "AWS_SECRET_ACCESS_KEY")]),
        ({"NOTES": f"token is {HF}"}, [("env", "NOTES")]),
        ({"GH": "ghp_" + "a" * 36}, [("env", "GH")]),
        ({"KEY": "-----BEGIN OPENSSH PRIVATE KEY-----"}, [("env", "KEY")]),
        # Switches and empty values are not secrets; nor are names that merely contain TOKEN.
        ({"HF_HUB_DISABLE_IMPLICIT_TOKEN": "1", "HF_TOKEN": "", "TOKENIZERS_PARALLELISM": "false"}, []),
        ({"VLLM_LOGGING_LEVEL": "DEBUG", "DISK": "disk-cache-abcdefghijklmnop"}, []),
    ],
)
def test_env(env: dict[str, str], paths: list[tuple[str, str]]) -> None:
    assert [finding.path for finding in literal_secrets(env, [])] == paths


@pytest.mark.parametrize(
    ("parameters", "paths"),
    [
        (["--api-key", "s3cret"], [("parameters", 1)]),
        (["--api-key=s3cret"], [("parameters", 0)]),
        (["--api-key s3cret"], [("parameters", 0)]),
        ([f"--hf-token={HF}"], [("parameters", 0)]),
        (["--served-model-name", HF], [("parameters", 1)]),
        ([HF], [("parameters", 0)]),
        # A flag without a value, a value that is a switch, flags that only end like a secret flag.
        (["--hf-token", "--enable-prefix-caching"], []),
        (["--api-key", "true"], []),
        (["--max-tokens=512", "--max-num-batched-tokens", "8192", "--tokenizer", "Qwen/Qwen3-8B"], []),
    ],
)
def test_parameters(parameters: list[str], paths: list[tuple[str, int]]) -> None:
    assert [finding.path for finding in literal_secrets({}, parameters)] == paths


def test_messages_never_repeat_the_value() -> None:
    findings = literal_secrets({"HF_TOKEN": HF, "DB_PASSWORD": "hunter2"}, ["--api-key", "s3cret"])
    assert len(findings) == 3
    for finding in findings:
        text = finding.message + finding.hint
        assert HF not in text and "hunter2" not in text and "s3cret" not in text
        assert "secrets" in finding.hint


def test_shapes() -> None:
    assert secret_shape(HF) == "a Hugging Face token (hf_…)"
    assert secret_shape("AKIAIOSFODNN7EXAMPLE") == "an AWS access key id (AKIA…)"
    assert secret_shape("Qwen/Qwen3-8B") is None
