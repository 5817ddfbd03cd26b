"""ModelInfo: what gpuctl knows about a model, the contract between resolution and the planner.

Resolution (I/O: Hugging Face, ModelScope, local files, GGUF headers) fills it; the estimator,
backends and scheduler (pure) read it; `gpuctl.lock` stores it so a plan in CI needs no network.
All sizes are bytes. Fields a model does not have stay None.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Category = Literal[
    "llm",
    "embedding",
    "reranker",
    "vision-language",
    "omni",
    "image",
    "speech-to-text",
    "text-to-speech",
]


class Info(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Quantization(Info):
    method: str
    """fp8, int8, gptq, awq, mxfp4, nvfp4, bitsandbytes, compressed-tensors, gguf ..."""
    bits: int | None = None
    group_size: int | None = None
    block_size: list[int] | None = None
    """fp8 block scaling, e.g. [128, 128]."""
    float_weights: bool = False
    """The quantized weights are floats (fp8, fp4) rather than integers (compressed-tensors
    `type: float`); decides the scale layout when `method` alone does not."""
    zero_point: bool = False
    """Asymmetric integer quantization: a zero point is stored per group next to the scale."""
    unquantized: list[str] = Field(default_factory=list)
    """Parts of the decoder layers kept in the checkpoint dtype (`modules_to_not_convert` /
    `ignore`): any of "attention", "mlp", "experts". Embeddings, output head, norms, routers and
    vision towers are never counted as quantized."""


class LayerParams(Info):
    """Parameters of `count` identical consecutive decoder layers, split by how backends shard
    and quantize them (vLLM's tensor-parallel layout). Counts are elements, not bytes."""

    count: int = 1
    attention: int = 0
    """Query and output projections (MLA: q_b, kv_b and o): sharded by tensor parallelism."""
    kv: int = 0
    """Key and value projections: sharded while TP <= KV heads, one head per rank beyond."""
    mlp: int = 0
    """Dense MLP and shared experts: sharded."""
    experts: int = 0
    """Routed experts: sharded."""
    replicated: int = 0
    """Linear weights every TP rank holds whole (MLA down-projections, q_a / kv_a)."""
    unquantized: int = 0
    """Norms, biases and routers: never quantized, replicated (small)."""
    absorbed: int = 0
    """MLA's kv_b projection (part of `attention`), of which vLLM and SGLang build a second,
    16-bit copy after loading (W_UK / W_UV for weight absorption)."""

    @property
    def total(self) -> int:
        per_layer = self.attention + self.kv + self.mlp + self.experts + self.replicated
        return self.count * (per_layer + self.unquantized)


class ParamCounts(Info):
    """Parameter counts of a checkpoint by part, derived from its config: what the estimator needs
    to split weights over tensor- and pipeline-parallel ranks and to apply quantization."""

    embedding: int = 0
    """Token embedding (vocabulary × hidden): sharded by vocabulary under TP, on the first stage."""
    lm_head: int = 0
    """Output projection, 0 when tied to the embedding: sharded, on the last stage."""
    tied_embeddings: bool = False
    """The output head shares the embedding (under PP the last stage still holds a copy)."""
    layers: list[LayerParams] = Field(default_factory=list)
    """Decoder layers in order, runs of identical layers collapsed (`count`)."""
    vision: int = 0
    """Vision tower and projector (VLMs), kept in the model dtype, on the first stage."""
    other: int = 0
    """Final norm, position embeddings, pooler / classifier heads: replicated, unquantized."""
    buffers: int = 0
    """Non-parameter tensors allocated with the weights, in model-dtype elements: the rotary
    cos/sin cache (positions × rotary dim), replicated on every rank."""
    unloaded: int = 0
    """Parameters in the checkpoint that backends do not load (DeepSeek's multi-token-prediction
    layers, unless speculative decoding is on): counted when matching the checkpoint size."""
    unloaded_unquantized: int = 0
    """The part of `unloaded` stored unquantized (the MTP layers' embedding and head copies)."""

    @property
    def num_layers(self) -> int:
        return sum(layer.count for layer in self.layers)

    @property
    def total(self) -> int:
        """Parameters the backend loads (buffers and unloaded layers excluded)."""
        return (
            self.embedding
            + self.lm_head
            + sum(layer.total for layer in self.layers)
            + self.vision
            + self.other
        )


class GgufFile(Info):
    """A GGUF file, read from its header only."""

    name: str
    """Path relative to the repository / local directory."""
    size: int
    architecture: str
    """general.architecture, e.g. llama, qwen3, clip (projector)."""
    file_type: str | None = None
    """Quantization as named by llama.cpp, e.g. Q4_K_M, F16."""
    layers: int | None = None
    context_length: int | None = None
    embedding_length: int | None = None
    head_count: int | None = None
    head_count_kv: int | None = None
    key_length: int | None = None
    value_length: int | None = None
    kv_lora_rank: int | None = None
    """MLA models (deepseek2): llama.cpp caches the compressed latent plus the rope part."""
    rope_dimension: int | None = None
    layer_bytes: list[int] = Field(default_factory=list)
    """Bytes of the tensors of each repeating block (blk.N.*), in layer order."""
    non_layer_bytes: int = 0
    """Bytes of everything else: token embedding, output head, norms."""
    output_bytes: int = 0
    """Bytes of output.weight (the part of non_layer_bytes that must sit with the last layer)."""
    split_files: list[str] = Field(default_factory=list)
    """Other shards for split GGUF files (model-00001-of-00003.gguf ...)."""


class VisionInfo(Info):
    num_heads: int | None = None
    hidden_size: int | None = None
    num_layers: int | None = None
    intermediate_size: int | None = None
    patch_size: int | None = None


class ModelInfo(Info):
    source: str
    """`huggingface:ORG/NAME`, `modelscope:ORG/NAME` or `local:/path`."""
    revision: str | None = None
    """Resolved commit for hub sources (what the lock pins)."""
    architectures: list[str] = Field(default_factory=list)
    model_type: str | None = None
    category: Category = "llm"
    category_reason: str = ""
    """Why this category: "architectures Qwen3ForCausalLM", "VoxBox table: Faster-whisper-large-v3",
    "model_index.json (FluxPipeline)"."""

    # Transformer shape (the text decoder's, for VLMs).
    num_layers: int | None = None
    hidden_size: int | None = None
    intermediate_size: int | None = None
    num_attention_heads: int | None = None
    num_kv_heads: int | None = None
    head_dim: int | None = None
    vocab_size: int | None = None
    # MLA (DeepSeek-V2/V3/R1, Kimi-K2): the cached latent per token and layer.
    kv_lora_rank: int | None = None
    qk_rope_head_dim: int | None = None
    # Sliding-window / hybrid attention.
    sliding_window: int | None = None
    """Window of the sliding-window layers (Llama 4: the attention chunk of its chunked layers)."""
    layer_types: list[str] | None = None
    """Per-layer attention kind where the config lists it ("sliding_attention", "full_attention")."""
    # Mixture of experts.
    num_experts: int | None = None
    num_experts_per_token: int | None = None
    moe_intermediate_size: int | None = None
    """Intermediate size of one routed expert (sizes the fused-MoE workspace)."""
    kv_cache: bool = True
    """False for encoder-only models (BERT, XLM-R embeddings and rerankers): no KV cache."""
    vision: VisionInfo | None = None
    max_context: int | None = None
    """Largest context the model supports (max_position_embeddings and its relatives, rope scaling
    applied as the backends apply it)."""
    rope_scaling: dict[str, object] | None = None
    dtype: str | None = None
    """Checkpoint dtype: bfloat16, float16, float32."""
    quantization: Quantization | None = None
    params: ParamCounts | None = None
    """Parameter counts by part, derived from the config (None when the config is not known yet,
    e.g. a local path to be read on the host, or a GGUF model)."""

    weight_bytes: int | None = None
    """Bytes of the weights the backend loads."""
    weight_bytes_exact: bool = False
    """True when from safetensors metadata/file sizes, False when derived from a parameter count."""
    files: dict[str, int] = Field(default_factory=dict)
    """Repository file listing (path → size) where known; used to pick GGUF files."""
    gguf: GgufFile | None = None
    """The chosen GGUF model file (llama-box)."""
    mmproj: GgufFile | None = None
    """The chosen multimodal projector (`*mmproj*.gguf`, higher precision first)."""
    warnings: list[str] = Field(default_factory=list)

    @property
    def is_gguf(self) -> bool:
        return self.gguf is not None
