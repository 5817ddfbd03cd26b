"""Write `gpuctl.lock` for the example specs, offline, from the saved model data in tests/data/models.

The examples must plan with no network (the demo, CI, the sandbox end-to-end tests), so their
models are locked. `gpuctl lock` would read them from the hub; this script reads the same files
from the copies saved in the repository instead, through the same code (`describe` over a
Repository), so the lock holds what `gpuctl lock` would record — except:

- revisions are not pinned to commits (the hub's commit ids are not known offline): run
  `gpuctl lock --update` where the hub is reachable to pin them;
- where a file was not saved, its size comes from the published file listing (noted below), and
  the Qwen3-8B GGUF header is rebuilt from the model's shape with llama.cpp's Q4_K_M recipe.

Run: `python scripts/example_lock.py` (rewrites gpuctl.lock in the repository root).
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODELS = ROOT / "tests" / "data" / "models"
sys.path.insert(0, str(ROOT))

from gpuctl.models.lock import Lock, write_lock  # noqa: E402
from gpuctl.models.repository import describe  # noqa: E402
from gpuctl.spec.loader import load_specs  # noqa: E402


class SavedRepository:
    """A Repository whose small files come from tests/data/models and large ones are sizes only."""

    def __init__(self, source: str, files: dict[str, int], contents: dict[str, bytes]) -> None:
        self.source = source
        self.name = source.split(":", 1)[1]
        self.revision = None
        self.files = files | {path: len(data) for path, data in contents.items()}
        self._contents = contents

    def read(self, path: str) -> bytes:
        return self._contents[path]

    def byte_source(self, path: str):
        data = self._contents[path]
        return lambda start, size: data[start : start + size]


def saved(name: str) -> bytes:
    return (MODELS / name).read_bytes()


def qwen3_8b_q4_k_m_header() -> bytes:
    """A real GGUF header (no tensor data) with Qwen3-8B's tensors as llama.cpp quantizes Q4_K_M:
    Q4_K everywhere, Q6_K for attn_v/ffn_down in the layers `use_more_bits` picks and for the
    output head, F32 norms."""
    import gguf
    import numpy as np

    config = json.loads(saved("Qwen__Qwen3-8B.config.json"))
    layers, hidden, ffn = config["num_hidden_layers"], config["hidden_size"], config["intermediate_size"]
    heads, kv_heads, head_dim = (
        config["num_attention_heads"],
        config["num_key_value_heads"],
        config["head_dim"],
    )
    q4k, q6k, f32 = (
        gguf.GGMLQuantizationType.Q4_K,
        gguf.GGMLQuantizationType.Q6_K,
        gguf.GGMLQuantizationType.F32,
    )

    def use_more_bits(i: int) -> bool:
        return i < layers // 8 or i >= 7 * layers // 8 or (i - layers // 8) % 3 == 2

    tensors: list[tuple[str, tuple[int, ...], gguf.GGMLQuantizationType]] = [
        ("token_embd.weight", (config["vocab_size"], hidden), q4k),
        ("output_norm.weight", (hidden,), f32),
        ("output.weight", (config["vocab_size"], hidden), q6k),
    ]
    for i in range(layers):
        more = q6k if use_more_bits(i) else q4k
        tensors += [
            (f"blk.{i}.attn_norm.weight", (hidden,), f32),
            (f"blk.{i}.attn_q.weight", (heads * head_dim, hidden), q4k),
            (f"blk.{i}.attn_k.weight", (kv_heads * head_dim, hidden), q4k),
            (f"blk.{i}.attn_v.weight", (kv_heads * head_dim, hidden), more),
            (f"blk.{i}.attn_output.weight", (hidden, heads * head_dim), q4k),
            (f"blk.{i}.attn_q_norm.weight", (head_dim,), f32),
            (f"blk.{i}.attn_k_norm.weight", (head_dim,), f32),
            (f"blk.{i}.ffn_norm.weight", (hidden,), f32),
            (f"blk.{i}.ffn_gate.weight", (ffn, hidden), q4k),
            (f"blk.{i}.ffn_up.weight", (ffn, hidden), q4k),
            (f"blk.{i}.ffn_down.weight", (hidden, ffn), more),
        ]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "header.gguf"
        writer = gguf.GGUFWriter(path, "qwen3")
        writer.add_block_count(layers)
        writer.add_context_length(config["max_position_embeddings"])
        writer.add_embedding_length(hidden)
        writer.add_feed_forward_length(ffn)
        writer.add_head_count(heads)
        writer.add_head_count_kv(kv_heads)
        writer.add_key_length(head_dim)
        writer.add_value_length(head_dim)
        writer.add_file_type(gguf.LlamaFileType.MOSTLY_Q4_K_M)
        for name, shape, kind in tensors:
            block, type_size = gguf.GGML_QUANT_SIZES[kind]
            count = int(np.prod(shape))
            writer.add_tensor_info(
                name, shape, np.dtype(np.float32), count // block * type_size, raw_dtype=kind
            )
        writer.write_header_to_file(path)
        writer.write_kv_data_to_file()
        writer.write_ti_data_to_file()
        writer.close()
        return path.read_bytes()


def repositories() -> dict[str, tuple[SavedRepository, str | None]]:
    """Source (as the spec writes it) → (repository, GGUF file)."""
    header = qwen3_8b_q4_k_m_header()
    gguf_size = 5_027_783_488  # Qwen3-8B-Q4_K_M.gguf in the hub's file listing
    flux_index = json.loads(
        saved("black-forest-labs__FLUX.1-dev.transformer.diffusion_pytorch_model.safetensors.index.json")
    )
    flux_model_index = json.loads(saved("black-forest-labs__FLUX.1-schnell.model_index.json"))
    return {
        "huggingface:Qwen/Qwen3-8B": (
            SavedRepository(
                "huggingface:Qwen/Qwen3-8B",
                {"model.safetensors": 16_381_470_720},  # index total_size (weights_total_size.csv)
                {"config.json": saved("Qwen__Qwen3-8B.config.json")},
            ),
            None,
        ),
        "modelscope:Qwen/Qwen2.5-7B-Instruct": (
            SavedRepository(
                "modelscope:Qwen/Qwen2.5-7B-Instruct",
                {"model.safetensors": 15_231_233_024},  # index total_size (weights_total_size.csv)
                {"config.json": saved("Qwen__Qwen2.5-7B-Instruct.config.json")},
            ),
            None,
        ),
        "huggingface:Qwen/Qwen3-8B-GGUF": (
            SavedRepository(
                "huggingface:Qwen/Qwen3-8B-GGUF",
                {},
                {"Qwen3-8B-Q4_K_M.gguf": header},
            ),
            "Qwen3-8B-Q4_K_M.gguf",
        ),
        "huggingface:Systran/faster-whisper-large-v3": (
            SavedRepository(
                "huggingface:Systran/faster-whisper-large-v3",
                {"model.bin": 3_087_284_237},  # CTranslate2 float16 weights, hub file listing
                {"config.json": saved("openai__whisper-large-v3.config.json")},
            ),
            None,
        ),
        "huggingface:black-forest-labs/FLUX.1-dev": (
            SavedRepository(
                "huggingface:black-forest-labs/FLUX.1-dev",
                {
                    # transformer: the saved index's exact total; the encoders and VAE: hub listing
                    "transformer/diffusion_pytorch_model.safetensors": flux_index["metadata"]["total_size"],
                    "text_encoder/model.safetensors": 246_144_152,
                    "text_encoder_2/model-00001-of-00002.safetensors": 4_994_582_104,
                    "text_encoder_2/model-00002-of-00002.safetensors": 4_530_066_248,
                    "vae/diffusion_pytorch_model.safetensors": 167_666_902,
                },
                # FLUX.1-dev's model_index.json lists the same components as the saved schnell one
                {"model_index.json": json.dumps(flux_model_index).encode()},
            ),
            None,
        ),
    }, gguf_size


def main() -> None:
    repos, gguf_size = repositories()
    lock = Lock(path=str(ROOT / "gpuctl.lock"))
    specs = load_specs([ROOT / "specs"])
    for deployment in specs.deployments:
        source = deployment.spec.model
        repo, file = repos[f"{source.kind}:{source.ref}"]
        info = describe(repo, file)
        if info.gguf is not None:  # the header was rebuilt; the file's size is the hub's
            info = info.model_copy(update={"gguf": info.gguf.model_copy(update={"size": gguf_size})})
        lock.add(source, info.model_copy(update={"files": {}}))
    target = write_lock(lock)
    text = target.read_text()
    note = (
        "# The example specs' entries were recorded offline by scripts/example_lock.py from the model\n"
        "# files saved in tests/data/models; their revisions are not pinned to commits yet: run\n"
        "# `gpuctl lock --update` where the hub is reachable to pin them.\n"
    )
    target.write_text(note + text)
    print(f"wrote {target} ({len(lock.entries)} models)")


if __name__ == "__main__":
    main()
