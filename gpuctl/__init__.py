"""gpuctl: infrastructure-as-code for LLM and speech inference on your own GPU/NPU servers."""

__version__ = "0.1.0"
