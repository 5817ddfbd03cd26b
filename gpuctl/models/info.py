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
    layer_types: list[str] | None = None
    """Per-layer attention kind where the config lists it ("sliding_attention", "full_attention")."""
    # Mixture of experts.
    num_experts: int | None = None
    num_experts_per_token: int | None = None
    vision: VisionInfo | None = None
    max_context: int | None = None
    """Largest context the model supports (max_position_embeddings and its relatives, rope scaling
    applied as the backends apply it)."""
    rope_scaling: dict[str, object] | None = None
    dtype: str | None = None
    """Checkpoint dtype: bfloat16, float16, float32."""
    quantization: Quantization | None = None

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
