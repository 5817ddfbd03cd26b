"""MindIE's command-line parameters (seed 000, "MindIE › Parameters Reference"), as data.

MindIE itself reads a JSON file; GPUStack, and gpuctl after it, offer these flags instead. The set
is closed: an unknown flag is an error (with the closest names suggested). Every flag has the
seed's default and range; an explicit value outside the range is refused with the flag, the value
and the allowed range. Ranges that depend on another flag (`[1, --max-batch-size]`) use that
flag's effective value. `target` says where the value lands (see mindie.py).
"""

from __future__ import annotations

import difflib
import itertools
import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from gpuctl.backends.params import Param
from gpuctl.errors import Diagnostic

Kind = Literal["int", "float", "bool", "str", "json"]
Rule = Literal["power-of-2", "power-of-2-or-disabled", "multiple-of-16"]

DEFAULT_NPU_MEMORY_FRACTION = 0.9

Values = Mapping[str, Any]
"""Every flag's effective value by flag name (ints, floats, bools, strings, parsed JSON)."""

CONTEXT_CAP = 8192
"""--max-seq-len default: the model's maximum context, at most 8192."""


@dataclass(frozen=True)
class Flag:
    name: str
    kind: Kind
    default: object = None
    """None: no value (derived from other flags, or the feature is off)."""
    target: str = ""
    aliases: tuple[str, ...] = ()
    choices: tuple[object, ...] = ()
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    high_ref: str | None = None
    """Name of the flag whose effective value is the upper bound."""
    rule: Rule | None = None
    negatable: bool = False
    """Accepts --no-NAME to turn it off explicitly."""

    @property
    def key(self) -> str:
        return self.name[2:].replace("-", "_")


def _int(name: str, default: int | None = None, target: str = "", **kw: Any) -> Flag:
    return Flag(name, "int", default, target, **kw)


def _bool(name: str, target: str, negatable: bool = True) -> Flag:
    return Flag(name, "bool", False, target, negatable=negatable)


SC = "ServerConfig."
MDC = "BackendConfig.ModelDeployConfig."
MC = "BackendConfig.ModelDeployConfig.ModelConfig[0]."
SCH = "BackendConfig.ScheduleConfig."
PARALLEL = "power-of-2-or-disabled"

FLAGS: tuple[Flag, ...] = (
    # Log config
    Flag(
        "--log-level",
        "str",
        "Info",
        "LogConfig.logLevel, env MINDIE_LOG_LEVEL",
        choices=("Verbose", "Info", "Warning", "Warn", "Error", "Debug"),
    ),
    # Server config
    _int("--max-link-num", 1000, SC + "maxLinkNum", low=1, high=1000),
    _int("--token-timeout", 60, SC + "tokenTimeout", low=1, high=3600),
    _int("--e2e-timeout", 60, SC + "e2eTimeout", low=1, high=3600),
    # Backend config
    Flag("--kv-pool-config", "json", None, "BackendConfig.kvPoolConfig"),
    # Model deploy config
    _int("--max-seq-len", None, MDC + "maxSeqLen", low=0, low_open=True),
    _int(
        "--max-input-token-len",
        None,
        MDC + "maxInputTokenLen",
        low=0,
        low_open=True,
        high_ref="--max-seq-len",
    ),
    _bool("--truncation", MDC + "truncation"),
    # Model config
    _int("--cpu-mem-size", 0, MC + "cpuMemSize", low=0),
    Flag(
        "--npu-memory-fraction",
        "float",
        DEFAULT_NPU_MEMORY_FRACTION,
        "env NPU_MEMORY_FRACTION",
        low=0,
        high=1,
        low_open=True,
    ),
    _bool("--trust-remote-code", MC + "trustRemoteCode", negatable=False),
    Flag("--models", "json", None, MC + "models"),
    _int("--async-scheduler-wait-time", 120, MC + "async_scheduler_wait_time", low=1, high=3600),
    # Schedule config
    _int("--cache-block-size", 128, SCH + "cacheBlockSize", rule="power-of-2"),
    _int("--max-prefill-batch-size", 50, SCH + "maxPrefillBatchSize", low=1, high_ref="--max-batch-size"),
    _int("--max-prefill-tokens", None, SCH + "maxPrefillTokens", low=1, high_ref="--max-seq-len"),
    _int("--prefill-time-ms-per-req", 150, SCH + "prefillTimeMsPerReq", low=0, high=1000),
    _int("--prefill-policy-type", 0, SCH + "prefillPolicyType", choices=(0, 1, 2, 3)),
    _int("--max-batch-size", 200, SCH + "maxBatchSize", low=1, high=5000),
    _int("--max-iter-times", None, SCH + "maxIterTimes", low=1, high_ref="--max-seq-len"),
    _int("--decode-time-ms-per-req", 50, SCH + "decodeTimeMsPerReq", low=0, high=1000),
    _int("--decode-policy-type", 0, SCH + "decodePolicyType", choices=(0, 1, 2, 3)),
    _int("--max-preempt-count", 0, SCH + "maxPreemptCount", low=0, high_ref="--max-batch-size"),
    _bool("--support-select-batch", SCH + "supportSelectBatch"),
    _int("--max-queue-delay-microseconds", 5000, SCH + "maxQueueDelayMicroseconds", low=500, high=1000000),
    _int("--max-first-token-wait-time", 2500, SCH + "maxFirstTokenWaitTime", low=0, high=3600000),
    # Extends and features
    Flag("--override-generation-config", "json", None, "generation_config.json (merged)"),
    _bool("--enforce-eager", "env MINDIE_ASYNC_SCHEDULING_ENABLE=0 ...", negatable=False),
    _bool("--no-metrics", "env MIES_SERVICE_MONITOR_MODE=0", negatable=False),
    Flag(
        "--dtype",
        "str",
        "auto",
        "config.json torch_dtype (merged)",
        choices=("auto", "half", "float16", "bfloat16", "float", "float32"),
    ),
    Flag("--rope-scaling", "json", None, "config.json rope_scaling (merged)"),
    Flag("--rope-theta", "float", None, "config.json rope_theta (merged)", low=0, low_open=True),
    _bool("--enable-split", SCH + "enableSplit"),
    _int("--policy-type", 0, SCH + "policyType", choices=(0, 4, 5, 6, 7)),
    _int("--split-chunk-tokens", 512, SCH + "splitChunkTokens", low=1, high=8192, rule="multiple-of-16"),
    _int("--split-start-batch-size", 16, SCH + "splitStartBatchSize", low=0, high_ref="--max-batch-size"),
    _bool("--enable-memory-decoding", MC + "plugin_params memory_decoding"),
    _int("--memory-decoding-length", 16, MC + "plugin_params decoding_length", low=1, high=16),
    _bool("--memory-decoding-dynamic-algo", MC + "plugin_params dynamic_algo", negatable=False),
    _bool("--enable-lookahead", MC + "plugin_params la"),
    _int("--lookahead-level", 4, MC + "plugin_params level", low=3, high=16),
    _int("--lookahead-window", 5, MC + "plugin_params window", low=1, high=16),
    _int("--lookahead-guess-set-size", 5, MC + "plugin_params guess_set_size", low=1, high=16),
    _bool("--enable-multi-token-prediction", MC + "plugin_params mtp"),
    _int(
        "--multi-token-prediction-tokens",
        1,
        MC + "plugin_params num_speculative_tokens",
        low=0,
        low_open=True,
    ),
    _bool("--enable-prefix-caching", MC + "plugin_params prefix_cache"),
    _int("--pipeline-parallel-size", 1, MC + "pp", aliases=("-pp",), low=0, low_open=True),
    _int("--data-parallel-size", -1, MC + "dp", aliases=("-dp",), rule=PARALLEL),
    _int("--context-parallel-size", -1, MC + "cp", aliases=("-cp",), rule=PARALLEL),
    _int("--tensor-parallel-size", -1, MC + "tp", aliases=("-tp",), rule=PARALLEL),
    _int("--sequence-parallel-size", -1, MC + "sp", aliases=("-sp",), rule=PARALLEL),
    _int("--moe-expert-parallel-size", -1, MC + "moe_ep", aliases=("-moe-ep",), rule=PARALLEL),
    _int("--moe-tensor-parallel-size", -1, MC + "moe_tp", aliases=("-moe-tp",), rule=PARALLEL),
    _bool("--enable-buffer-response", SCH + "bufferResponseEnabled"),
    _int("--prefill-expected-time-ms", None, SCH + "prefillExpectedTime", low=0, low_open=True),
    _int("--decode-expected-time-ms", None, SCH + "decodeExpectedTime", low=0, low_open=True),
)

BY_NAME: dict[str, Flag] = {flag.name: flag for flag in FLAGS}
_BY_FLAG: dict[str, Flag] = {name: flag for flag in FLAGS for name in (flag.name, *flag.aliases)}

EXCLUSIVE_PLUGINS = (
    "--enable-split",
    "--enable-memory-decoding",
    "--enable-lookahead",
    "--enable-multi-token-prediction",
)
"""Plugins of ModelConfig.plugin_params of which at most one runs (GPUStack refuses every pair)."""

PREFIX_CACHING = "--enable-prefix-caching"
"""The plugin that combines with any one of the others: MindIE lists plugins comma-separated
(`"plugin_type": "mtp,prefix_cache"`; MindIE's Prefix Cache guide names split fuse, MTP and
parallel decoding as compatible), and GPUStack accepts these pairs."""

PLUGINS = (*EXCLUSIVE_PLUGINS, PREFIX_CACHING)


@dataclass(frozen=True)
class Parsed:
    """Explicit values by flag name, and the parameter that gave each (for diagnostics)."""

    values: dict[str, Any]
    given: dict[str, Param]


def parse(params: list[Param]) -> tuple[Parsed, list[Diagnostic]]:
    values: dict[str, Any] = {}
    given: dict[str, Param] = {}
    problems: list[Diagnostic] = []
    for param in params:
        flag, negated = _lookup(param.flag)
        if flag is None:
            problems.append(_unknown(param))
            continue
        value, problem = _convert(flag, param, negated)
        if problem:
            problems.append(problem)
            continue
        values[flag.name] = value
        given[flag.name] = param
    return Parsed(values, given), problems


def effective(parsed: Parsed, model_max_context: int | None) -> dict[str, Any]:
    """Every flag's value: the explicit one, else the default, else derived from the others."""
    values: dict[str, Any] = {flag.name: flag.default for flag in FLAGS} | parsed.values
    given = parsed.values
    if "--max-seq-len" not in given:
        values["--max-seq-len"] = min(model_max_context, CONTEXT_CAP) if model_max_context else CONTEXT_CAP
    seq = values["--max-seq-len"]
    if values["--max-prefill-tokens"] is None:
        values["--max-prefill-tokens"] = seq
    if values["--max-input-token-len"] is None:
        values["--max-input-token-len"] = min(seq, values["--max-prefill-tokens"])
    if values["--max-iter-times"] is None:
        values["--max-iter-times"] = seq
    for name in ("--max-prefill-batch-size", "--split-start-batch-size"):
        if name not in given:
            values[name] = min(values[name], values["--max-batch-size"])
    return values


def validate(parsed: Parsed, values: Values) -> list[Diagnostic]:
    """Ranges of explicit values, and the rules between flags (placement-independent)."""
    problems = [p for name, param in parsed.given.items() if (p := _range(BY_NAME[name], param, values))]
    problems += _cross_checks(parsed, values)
    return problems + _feature_checks(parsed, values)


def range_text(flag: Flag, values: Values) -> str:
    """The allowed range as the seed writes it, with referenced flags' effective values (or their
    names alone where `values` does not have them yet)."""
    if flag.rule == "power-of-2":
        return "a power of 2"
    if flag.rule == "power-of-2-or-disabled":
        return "-1 or a power of 2"
    low = "-inf" if flag.low is None else _number(flag.low)
    if flag.high_ref:
        ref = values.get(flag.high_ref)
        high = flag.high_ref if ref is None else f"{flag.high_ref} = {ref}"
    else:
        high = "*" if flag.high is None else _number(flag.high)
    text = f"{'(' if flag.low_open else '['}{low}, {high}{')' if flag.high_open or high == '*' else ']'}"
    return f"multiples of 16 in {text}" if flag.rule == "multiple-of-16" else text


def allowed_text(flag: Flag, values: Values) -> str:
    """What a flag accepts, for messages about any bad value: its choices, its range, or its shape."""
    if flag.choices:
        return ", ".join(str(choice) for choice in flag.choices)
    if flag.kind == "bool":
        return f"{flag.name} or --no-{flag.name[2:]}" if flag.negatable else f"{flag.name} alone"
    if flag.kind == "json":
        return "a JSON object or array" if flag.name == "--models" else "a JSON object"
    if flag.low is not None or flag.high is not None or flag.high_ref or flag.rule:
        return range_text(flag, values)
    return "an integer" if flag.kind == "int" else "a number"


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _lookup(name: str) -> tuple[Flag | None, bool]:
    flag = _BY_FLAG.get(name)
    if flag is None and name.startswith("--no-"):
        positive = _BY_FLAG.get("--" + name[5:])
        if positive and positive.negatable:
            return positive, True
    return flag, False


def _unknown(param: Param) -> Diagnostic:
    names = sorted(_BY_FLAG) + [f"--no-{f.name[2:]}" for f in FLAGS if f.negatable]
    close = difflib.get_close_matches(param.flag, names, n=2)
    hint = f"did you mean {' or '.join(close)}?" if close else "see the MindIE parameter table in the README"
    return Diagnostic(
        f"MindIE has no parameter {param.flag}", path=param.path, hint=hint, code="parameter-unknown"
    )


def _convert(flag: Flag, param: Param, negated: bool) -> tuple[object, Diagnostic | None]:
    """The value as the flag's kind; a bad one is refused with the flag, the value and what the
    flag allows (ranges naming other flags show their names: their values are not known yet)."""
    allowed = allowed_text(flag, {})
    if flag.kind == "bool":
        if param.values:
            return None, _bad_value(param, "takes no value", allowed, "parameter-value")
        return not negated, None
    text = param.value
    if text is None:
        return None, Diagnostic(
            f"MindIE parameter {param.flag} needs a value: allowed {allowed}",
            path=param.path,
            code="parameter-value",
        )
    value = _parse(flag, text)
    if value is None:
        noun = {"int": "an integer", "float": "a finite number", "json": "valid JSON of that shape"}
        return None, _bad_value(param, f"is not {noun.get(flag.kind, 'valid')}", allowed, "parameter-value")
    if flag.choices and value not in flag.choices:
        return None, _bad_value(param, "is out of range", allowed, "parameter-out-of-range")
    return value, None


def _parse(flag: Flag, text: str) -> object:
    """The value, or None when the text is not of the flag's kind (NaN and infinities included:
    every comparison with NaN is false, so it would pass any range)."""
    try:
        value = _CONVERTERS[flag.kind](text)
    except ValueError:
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if flag.kind == "json" and not isinstance(value, dict | list if flag.name == "--models" else dict):
        return None
    return value


def _bad_value(param: Param, what: str, allowed: str, code: str) -> Diagnostic:
    return Diagnostic(
        f"MindIE parameter {param.shown()} {what}: allowed {allowed}", path=param.path, code=code
    )


_CONVERTERS: dict[str, Callable[[str], Any]] = {"int": int, "float": float, "str": str, "json": json.loads}


def _range(flag: Flag, param: Param, values: Values) -> Diagnostic | None:
    value = values[flag.name]
    if not isinstance(value, int | float) or isinstance(value, bool):
        return None
    if _in_range(flag, value, values):
        return None
    return Diagnostic(
        f"MindIE parameter {param.flag}={param.value} is out of range: allowed {range_text(flag, values)}",
        path=param.path,
        hint=f"default {flag.default}" if flag.default is not None else None,
        code="parameter-out-of-range",
    )


def _in_range(flag: Flag, value: float, values: Values) -> bool:
    if flag.rule == "power-of-2":
        return _power_of_2(value)
    if flag.rule == "power-of-2-or-disabled":
        return value == -1 or _power_of_2(value)
    if flag.rule == "multiple-of-16" and value % 16:
        return False
    high = values.get(flag.high_ref) if flag.high_ref else flag.high
    if flag.low is not None and (value <= flag.low if flag.low_open else value < flag.low):
        return False
    return not (isinstance(high, int | float) and (value >= high if flag.high_open else value > high))


def _power_of_2(value: float) -> bool:
    return isinstance(value, int) and value > 0 and not value & (value - 1)


def _cross_checks(parsed: Parsed, values: Values) -> list[Diagnostic]:
    problems = []
    given = parsed.given
    low = values["--max-input-token-len"]
    prefill = values["--max-prefill-tokens"]
    if (
        "--max-prefill-tokens" in given
        and isinstance(low, int)
        and isinstance(prefill, int)
        and prefill < low
    ):
        param = given["--max-prefill-tokens"]
        problems.append(
            Diagnostic(
                f"MindIE parameter {param.flag}={param.value} is out of range: --max-prefill-tokens "
                f"({prefill}) must be at least --max-input-token-len ({low}), allowed "
                f"[--max-input-token-len = {low}, "
                f"--max-seq-len = {values['--max-seq-len']}]",
                path=param.path,
                code="parameter-out-of-range",
            )
        )
    if values["--cpu-mem-size"] and not values["--max-preempt-count"] and "--cpu-mem-size" in given:
        param = given["--cpu-mem-size"]
        problems.append(
            Diagnostic(
                f"{param.shown()} has no effect while --max-preempt-count is 0",
                path=param.path,
                hint="set --max-preempt-count too",
                severity="warning",
                code="parameter-no-effect",
            )
        )
    return problems


def _feature_checks(parsed: Parsed, values: Values) -> list[Diagnostic]:
    """Mutually exclusive features (seed: e.g. prefix caching with context extension)."""
    given = parsed.given
    exclusive = [name for name in EXCLUSIVE_PLUGINS if values[name]]
    problems = [
        _exclusive(given, a, b, "MindIE runs one of split fuse, memory decoding, lookahead and MTP")
        for a, b in itertools.pairwise(exclusive)
    ]
    on = [name for name in PLUGINS if values[name]]
    if values["--rope-scaling"]:
        problems += [
            _exclusive(given, "--rope-scaling", name, "MindIE cannot extend the context with it")
            for name in on
        ]
    dp = values["--data-parallel-size"]
    if isinstance(dp, int) and dp > 1:
        blocked = [
            n
            for n in (
                "--enable-split",
                "--enable-memory-decoding",
                "--enable-lookahead",
                "--enable-prefix-caching",
            )
            if values[n]
        ]
        problems += [
            _exclusive(given, "--data-parallel-size", name, "MindIE does not combine them")
            for name in blocked
        ]
    pp, cp, tp, sp = (values[f"--{n}-parallel-size"] for n in ("pipeline", "context", "tensor", "sequence"))
    if pp != 1 and dp != -1:
        problems.append(
            _exclusive(given, "--pipeline-parallel-size", "--data-parallel-size", "set -pp 1 or -dp -1")
        )
    if isinstance(dp, int) and isinstance(cp, int) and dp > 1 and cp > 1:
        problems.append(
            _exclusive(given, "--data-parallel-size", "--context-parallel-size", "use one of them")
        )
    if isinstance(sp, int) and isinstance(tp, int) and sp > 1 and tp > 0 and sp != tp:
        param = given["--sequence-parallel-size"]
        problems.append(
            Diagnostic(
                f"MindIE parameter {param.flag}={sp} is out of range: allowed --tensor-parallel-size = {tp}",
                path=param.path,
                code="parameter-out-of-range",
            )
        )
    if values["--enable-buffer-response"]:
        for name in ("--prefill-expected-time-ms", "--decode-expected-time-ms"):
            if values[name] is None:
                param = given["--enable-buffer-response"]
                problems.append(
                    Diagnostic(f"{param.flag} needs {name} too", path=param.path, code="parameter-missing")
                )
    return problems


def _exclusive(given: Mapping[str, Param], first: str, second: str, why: str) -> Diagnostic:
    a, b = given.get(first), given.get(second)
    shown = [p.shown() if p else name for p, name in ((a, first), (b, second))]
    where = a or b
    return Diagnostic(
        f"MindIE features {shown[0]} and {shown[1]} cannot be used together ({why})",
        path=where.path if where else None,
        code="parameter-exclusive",
    )
