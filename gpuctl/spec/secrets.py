"""Literal secrets in a spec: what they look like, so that validation can refuse them.

Specs live in git; a token written into one is leaked for good. gpuctl therefore refuses any `env`
value or backend parameter that looks like a secret and asks for a reference instead
(`secrets: {NAME: {fromEnv: VAR}}`). Messages never repeat the value.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import NamedTuple

_SECRET_NAME = re.compile(
    r"(?:^|_)(?:TOKEN|SECRET|PASSWORD|PASSWD|API_?KEY|ACCESS_KEY|SECRET_KEY|PRIVATE_KEY|CREDENTIALS?)$",
    re.IGNORECASE,
)
"""Variable names that hold secrets by convention: HF_TOKEN, AWS_SECRET_ACCESS_KEY, OPENAI_API_KEY."""

_SECRET_FLAG = re.compile(r"^--?(?:[\w-]*[-_])?(?:api[-_]?key|token|secret|password|passwd)$", re.IGNORECASE)
"""Backend flags that take a secret: --api-key (vLLM, SGLang, llama-box), --hf-token (vLLM)."""

_SHAPES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("a Hugging Face token (hf_…)", re.compile(r"\bhf_[A-Za-z0-9]{20,}")),
    ("an API key (sk-…)", re.compile(r"\bsk-[A-Za-z0-9_-]{16,}")),
    ("a GitHub token", re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_\w{20,})")),
    ("an AWS access key id (AKIA…)", re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b")),
    ("a GitLab token (glpat-…)", re.compile(r"\bglpat-[\w-]{20,}")),
    ("a Slack token (xox…)", re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}")),
    ("a private key", re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----")),
    ("a bearer token", re.compile(r"\bBearer\s+[A-Za-z0-9._~+/-]{16,}")),
)

_NEVER = "secrets must not be written in a spec"
_PARAMETER_HINT = (
    "give it to the backend as an environment variable with secrets: {NAME: {fromEnv: VAR}}; "
    "vLLM reads its API key from VLLM_API_KEY"
)

_NOT_SECRET = frozenset({"", "0", "1", "true", "false", "yes", "no", "on", "off", "none", "null"})
"""Values that are switches, not secrets (HF_HUB_DISABLE_IMPLICIT_TOKEN=1 is not a token)."""


class Finding(NamedTuple):
    """A literal secret: where it is (relative to the deployment spec), what it looks like, what to do."""

    path: tuple[str | int, ...]
    message: str
    hint: str


def secret_shape(value: str) -> str | None:
    """What kind of secret `value` looks like (e.g. "a Hugging Face token (hf_…)"), or None."""
    for description, pattern in _SHAPES:
        if pattern.search(value):
            return description
    return None


def is_secret_name(name: str) -> bool:
    return bool(_SECRET_NAME.search(name))


def is_secret_flag(flag: str) -> bool:
    """Whether a backend flag takes a secret (`--api-key`, `--hf-token`); `--flag=value` works too."""
    return bool(_SECRET_FLAG.match(flag.partition("=")[0].strip()))


def _is_literal(value: str | None) -> bool:
    return value is not None and value.strip().lower() not in _NOT_SECRET


def _flag_value(parameters: Sequence[str], index: int) -> tuple[str, str | None, int]:
    """(flag, its value, index of the item holding the value) for the flag at `index`:
    `--flag=value`, `--flag value` in one item, or `--flag` followed by a value item."""
    item = parameters[index].strip()
    flag, sep, value = item.partition("=")
    if not sep and " " in item:
        flag, _, value = item.partition(" ")
        return flag, value.strip(), index
    if sep:
        return flag, value, index
    following = parameters[index + 1] if index + 1 < len(parameters) else None
    if following is not None and not following.startswith("-"):
        return flag, following, index + 1
    return flag, None, index


def literal_secrets(env: Mapping[str, str], parameters: Sequence[str]) -> list[Finding]:
    """Every literal secret in a deployment's `env` and `parameters`."""
    return _in_env(env) + _in_parameters(parameters)


def _in_env(env: Mapping[str, str]) -> list[Finding]:
    findings = []
    for name, value in env.items():
        hint = f"use secrets: {{{name}: {{fromEnv: {name}}}}} to read it from the environment at apply time"
        shape = secret_shape(value)
        if shape:
            findings.append(Finding(("env", name), f"the value looks like {shape}: {_NEVER}", hint))
        elif is_secret_name(name) and _is_literal(value):
            message = f"{name} is named like a secret and holds a literal value: {_NEVER}"
            findings.append(Finding(("env", name), message, hint))
    return findings


def _in_parameters(parameters: Sequence[str]) -> list[Finding]:
    findings = []
    reported: set[int] = set()
    for index, item in enumerate(parameters):
        if index in reported:
            continue
        if not item.startswith("-"):
            shape = secret_shape(item)
            if shape:
                findings.append(
                    Finding(("parameters", index), f"looks like {shape}: {_NEVER}", _PARAMETER_HINT)
                )
            continue
        flag, value, value_index = _flag_value(parameters, index)
        shape = secret_shape(value) if value else None
        if shape:
            message = f"the value of {flag} looks like {shape}: {_NEVER}"
        elif is_secret_flag(flag) and _is_literal(value):
            message = f"{flag} is given a literal value: {_NEVER}"
        else:
            continue
        findings.append(Finding(("parameters", value_index), message, _PARAMETER_HINT))
        reported.add(value_index)
    return findings
