"""Every constant the estimator calibrated from measurements, with the rows it comes from.

Rows are those of `tests/data/models/measurements.csv` (0-based data-row index); all memory
figures there are per GPU in GiB. Rows named by letter and number (A1, C1 ...) are those of
`tests/estimate/data/held_out.csv`, measured start-ups found after the calibration (other models,
GPUs, TP sizes and vLLM versions); its `used_for` column says which constants they set, the
others are checked only. `tests/estimate/test_constants.py` re-derives each constant
from its rows, so a change here that the data does not support fails a test. Rows kept back from
calibration to check for over-fitting (the "held-out" rows of `benchmarks/estimator_error.py`,
all with saved configs): 12 (Llama-3.1-8B fp8 KV), 16 (Llama-3.1-8B float32), 35 (Qwen2.5-7B
fp8 KV), 43 and 44 (Qwen2.5-7B TP2/TP4), 49 (Qwen2.5-7B w8a8).
"""

from __future__ import annotations

GiB = 1 << 30
MiB = 1 << 20

# --------------------------------------------------------------------------- weights

WEIGHT_LOADING_OVERHEAD = 0.0045
"""vLLM's "Model loading took" exceeds the checkpoint bytes (plus the rotary cache) by up to
0.41 % of the per-GPU weights: Qwen2.5-7B-Instruct TP1 14.25 GiB for 14.19 GiB of tensors
(row 37), Kimi-Dev-72B TP4 34.01 GiB for 33.87 GiB (row 31); Llama-3.1-8B TP1/2/4 (rows 19,
22, 23) and Mistral-Small-3.1-24B (row 29) are exact. Adding 0.45 % keeps every estimate at or
above the measurement while staying well inside 1 %."""

MARLIN_INT4_OVERHEAD = 0.012
"""GPTQ/AWQ int4 weights repacked for the Marlin kernels take 1.2 % more than their packed
checkpoint form (scales permuted, g_idx, workspaces): RedHatAI Llama-3.1-8B w4a16 loads 5.38
GiB (row 45) where the packed tensors are 3.35 GiB of int4 + 1.99 GiB of 16-bit parts."""

VISION_TP_REPLICATED = 0.2
"""Share of a vision tower every tensor-parallel rank holds whole (vLLM shards most encoder
projections, not all towers and projectors): Llama-4-Scout TP4 about 0 % (row 26), Mistral-Small
w8a8 TP2 about 18 % of its 0.82 GiB Pixtral tower (rows 46, 47), Kimi-VL TP2 about 34 % of its
0.76 GiB MoonViT (rows 32, 33)."""

AWQ_MARLIN_OVERHEAD = 0.027
"""AWQ checkpoints repacked for Marlin take more than GPTQ ones over their packed form: Qwen3-14B-AWQ
loads 9.44 GiB (held_out D2) and Qwen2.5-7B-Instruct-AWQ 5.29 GiB (held_out E1) for 9.29 / 5.19
GiB of checkpoint (6.4 / 3.2 GiB of it int4 layers): they need at least 1.6 % and 2.4 % over the
packed int4 part (taking the logs' 2-decimal rounding at its worst). 2.7 % covers both with a
little margin and stays within 1 % of the total (D2 +0.8 %)."""

MXFP4_PADDING = 256
"""vLLM's MXFP4 MoE kernels pad each rank's expert intermediate size to a multiple of 256:
gpt-oss-120b (2880 → 3072) loads 64.38 GiB where its checkpoint tensors are 60.7 GiB (row 50)."""

MXFP4_MARLIN_PADDING = (128, 256)
"""GPUs without FP4 support (compute capability below 9: A100, L40S, RTX 30/40) run MXFP4 experts
through the Marlin kernels instead, which need each rank's intermediate size a multiple of 128 and
the hidden size a multiple of 256 (vLLM `Mxfp4MoEMethod`, `use_marlin`): gpt-oss-120b at TP4 on
A100s (720 → 768 and 2880 → 3072 per expert matrix) loads 17.22 GiB per rank (held_out A4)."""

# --------------------------------------------------------------------------- vLLM activations

ACTIVATION_BASE = 0.054 * GiB
"""Fixed part of vLLM's profiled activation peak, from the least-squares fit below (rows 13,
27-29, 37, 4, 7)."""

SAMPLER_BYTES_PER_LOGIT = 12.43
"""Bytes per (sequence × vocabulary) element the dummy sampler run holds beyond the logits in
the model dtype (fp32 copies, probabilities): vLLM >= 0.17 profiles `max_num_seqs` (1024 on an
H100) sequences. Fit of act = base + seqs·V·(dtype + this) + tokens·hidden·dtype·HIDDEN_COPIES
over Llama-3.1-8B 1.89 GiB (row 19, V=128256), gemma-7b 3.63 (row 7, V=256000), Qwen2.5-7B 2.21
(row 37, V=152064), phi-4 1.52 (row 28), gemma-2-2b 3.62 (row 4)."""

FLASHINFER_SAMPLER_VERSIONS = ((0, 10, 0), (0, 10, 2))
FLASHINFER_SAMPLER_BYTES_PER_LOGIT = 8.0
"""vLLM 0.10.0-0.10.1 sampled top-p/top-k with FlashInfer's kernel whenever FlashInfer was
installed ("Using FlashInfer for top-p & top-k sampling"), which needs no sort: the dummy sampler
run holds the fp32 logits and fp32 probabilities (8 bytes per logit) beyond the model-dtype logits.
Qwen2-7B on an A100 (0.10.1.1, 256 sequences) peaks at 0.42 GiB, which the forward pass alone
explains (held_out A1, A2); with the sort-based sampler it would be 1.4 GiB. 0.10.2 and 0.11 logs
without that line profile the sort (held_out C1 1.40 GiB; rows 50-52)."""

SAMPLER_BYTES_PER_LOGIT_BEFORE_0_17 = 35.9
"""The same before vLLM 0.17, whose sampler kept about three times as much: Llama-3.1-8B 4.76
GiB (v0.11, row 51), Qwen3-14B 5.64 GiB (v0.15/0.16, rows 54, 55; 2.23 GiB from v0.17, row 56),
Qwen3-0.6B 5.56 GiB (row 52)."""

ACTIVATION_PROFILE_CHANGE = (0, 17)
"""vLLM version from which the smaller sampler profile and the persistent fused-MoE workspace
apply. The MoE workspace (tokens × top-k × (max(2·I/TP, hidden) + I/TP) × dtype) matches
Qwen1.5-MoE (+0.26 GiB, row 34) and DeepSeek-V2-Lite (+0.39 GiB, row 1) in v0.19; the v0.10.2
Qwen3-235B-FP8 (1.40 GiB, the sampler alone: held_out C1) and v0.11 gpt-oss-120b (row 50)
activations have none."""

HIDDEN_COPIES = 1.1375
"""Hidden-state buffers of `max_num_batched_tokens` tokens alive during the sampler run: the
hidden-size slope of the fit (gemma-2-2b/7b/27b rows 4, 7, 3 and Qwen2.5-7B/72B rows 37, 36)."""

FORWARD_BASE = 0.177 * GiB
FORWARD_COPIES = 3.53
"""Peak of the dummy forward pass: base + tokens × intermediate size ÷ TP × dtype bytes × copies
(MLP gate/up output, activation, down input). From CodeLlama-7b 0.77 GiB (row 0, whose small
vocabulary makes the forward pass the peak) and Llama-3.1-8B's first pipeline stage, which runs
no sampler, 1.10 / 1.05 GiB (rows 20, 21) less the hidden states it sends on (see
PP_SEND_COPIES)."""

PP_SEND_COPIES = 2
"""A pipeline stage other than the last keeps hidden states and residual (2 × tokens × hidden)
for the next stage."""

VLM_PROFILE_ACTIVATION = 0.2 * GiB
"""Extra activation of multimodal models, whose profile run also encodes dummy images: gemma-3
+0.21/+0.18 GiB over the text fit (rows 5, 6), Kimi-VL +0.19 (row 32), Llama-4-Scout +0.16 (row
26), Mistral-Small-3.1 +0.08 (row 29)."""

# --------------------------------------------------------------------------- vLLM non-torch

NON_TORCH_SINGLE_GPU = 0.25 * GiB
"""CUDA context growth, cuBLAS workspaces: 0.24-0.26 GiB at TP1 in vLLM 0.18/0.19 (rows 0-7, 11,
13-15, 17-19, 57); granite's 0.46 (rows 8-10) is the exception."""

NON_TORCH_SINGLE_GPU_BEFORE_0_18 = 0.13 * GiB
"""0.13-0.14 GiB in vLLM 0.11-0.17 (rows 50-56)."""

NON_TORCH_TP_BASE = 1.986 * GiB
NON_TORCH_TP_PER_RANK = 0.046 * GiB
"""NCCL buffers with tensor parallelism, base + per-rank × TP through the means at TP2 (2.078 GiB:
rows 22, 30, 33, 36, 47) and TP4 (2.17 GiB: rows 23, 26, 31), all vLLM 0.19 on H100s."""

NON_TORCH_TP_SMALL = 0.55 * GiB
"""Non-torch memory with tensor parallelism on NVLink GPUs (A100, H100 ...) where the ~2 GiB
buffers are not allocated: vLLM 0.11 on H100s, Llama-3.3-70B-FP8 TP2 0.55 GiB and Qwen3-32B TP2
0.54 GiB (held_out B2, B4). Seen elsewhere: 1.38 GiB on two NVLink H200s (0.10.2, a Qwen3-Next
log), 0.24-0.31 GiB on A100s without peer-to-peer access (held_out A3, A4)."""

NON_TORCH_TP_PCIE = 0.22 * GiB
"""The same on PCIe-only product lines (L40S, L4, A10, RTX; compute capability 7.5, 8.6, 8.9),
which hold no NVLink all-reduce buffers: eight L40S 0.21 GiB (0.10.2, held_out C1), 24 GB cards
under V0 0.20 GiB (vllm-project/vllm PR #14447 log), and two A100s without peer-to-peer access
0.24 GiB (the budget of held_out A3 less its weights, KV cache and the 0.43 GiB forward peak of
A1/A2). Their mean."""

NON_TORCH_TP_CHANGE = (0, 14)
"""First vLLM version given the large TP buffers on Hopper/Blackwell GPUs. Measured: none up to
0.11 (NON_TORCH_TP_SMALL), ~2.1 GiB in 0.19 (rows 22-23, 26, 30-31, 33, 36, 47); 0.12-0.18 were
not measured with TP and this cut between them is an assumption. Older GPU generations keep
NON_TORCH_TP_SMALL / NON_TORCH_TP_PCIE in every version: the 0.19 buffers were only measured on
H100s (their cause, e.g. NVLink-SHARP or fused all-reduce workspaces, is not established)."""

# --------------------------------------------------------------------------- vLLM defaults

BLOCK_SIZE = 16
"""Tokens per KV block (vLLM's default for CUDA attention backends)."""

LARGE_GPU = 70 * GiB
"""vLLM raises its scheduler defaults on GPUs with at least 70 GiB that are not A100s."""

DEFAULT_BATCHED_TOKENS = {True: 8192, False: 2048}
DEFAULT_MAX_SEQS = {True: 1024, False: 256}
"""vLLM's OpenAI-server defaults for `--max-num-batched-tokens` / `--max-num-seqs`, keyed by
"large GPU" (engine/arg_utils.py `_set_default_args`)."""

V0_ENGINE_BEFORE = (0, 8)
"""vLLM before 0.8 runs the V0 engine, whose profile run is not chunked: it pushes
`max(max_model_len, 2048)` tokens through the model at once (chunked prefill, and so the small
V1 budget, only switched on by default above a 32K context) and samples 256 sequences. Qwen2.5-7B
with an 8192-token context on an RTX 3090 (0.6.6, 16 sequences) peaks at 1.09 GiB and Qwen2.5-1.5B
at 32768 tokens on a T4 (0.7.2) at 2.02 GiB, both the forward pass of that many tokens (held_out
G3, G2); Phi-4 GPTQ at 2048 tokens (0.6.5) 0.94 GiB, the 256-sequence sampler (held_out G1)."""

V0_FORWARD_BASE = 0.029 * GiB
V0_FORWARD_COPIES = 3.37
V0_FORWARD_HIDDEN_COPIES = 1.59
"""V0's forward-pass peak: base + tokens × (intermediate ÷ TP × copies + hidden × hidden copies) ×
dtype bytes: the MLP's gate/up output, its activation and the residual stream of the whole
profile batch. Least squares through Qwen2.5-1.5B at 32768 tokens on a T4 (2.02 GiB, held_out
G2), Qwen2.5-7B at 8192 tokens (1.09 GiB, G3) and Llama-3.1-8B at 20000 / 29000 tokens on an RTX
3090 (2.07 / 2.99 GiB, H1, H2); every point within 0.001 GiB."""

V0_CHUNKED_CONTEXT = 32768
V0_CHUNKED_TOKENS = 2048
V0_MAX_SEQS = 256
"""V0 defaults: chunked prefill (with this token budget) above this context, else none."""

CUDA_GRAPH_MEMORY = 0.9 * GiB
"""CUDA graphs, captured after the KV cache from the (1 − gpu_memory_utilization) headroom:
0.5-1.6 GiB, median 0.9 (cuda_graph_gib of rows 0-49). Counted in the claim, not in the pool."""

# --------------------------------------------------------------------------- SGLang

SGLANG_RUNTIME_OVERHEAD = 1.85 * GiB
"""Memory SGLang's `mem_fraction_static` budget loses besides weights and KV pool (CUDA context,
NCCL, what was in use when it measured free memory): Qwen3-235B-A22B-FP8 TP4 at 0.93 of 79.19
GiB allocates 16.46 GiB (367,404 tokens, row 65) next to 55.38 GiB of weights → 1.81 GiB;
DeepSeek-R1 TP8 at 0.82 of 140.4 GiB holds ~509k tokens × 70,272 B (row 66) next to 79.91 GiB
→ 1.91 GiB. The mean of the two."""

# --------------------------------------------------------------------------- MindIE

MINDIE_RUNTIME_OVERHEAD = 3.0 * GiB
"""Not measured: MindIE is estimated like vLLM (weights + KV pool inside `npu_memory_fraction`)
with this allowance for the CANN runtime, HCCL buffers and activations."""

# --------------------------------------------------------------------------- speech and image

VOXBOX_OVERHEAD = 1.0 * GiB
VOXBOX_OVERHEAD_FACTOR = 0.2
"""Not measured: VoxBox (faster-whisper / CosyVoice) needs its weights plus a CUDA context and
decoding buffers: 1 GiB + 20 % of the weights."""

IMAGE_OVERHEAD = 4.0 * GiB
IMAGE_OVERHEAD_FACTOR = 0.1
"""Not measured: diffusion pipelines need their weights plus latents and attention activations
for a 1024² image: 4 GiB + 10 % of the weights."""

# --------------------------------------------------------------------------- llama-box (GGUF)

LLAMA_BOX_DEFAULT_CONTEXT = 8192
LLAMA_BOX_COMPUTE_BUFFER_DEFAULT = 250 * MiB
"""Compute buffer for architectures missing from the measured table: about the largest measured
partial-offload buffer of the common architectures (gguf/llamacpp_compute_buffer_measured_subset.csv)."""
