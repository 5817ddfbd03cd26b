#!/usr/bin/env bash
# The demo of `sudo make demo`: a sandbox fleet, the example specs validated, planned and applied,
# what runs, a chat request to the deployed vLLM endpoint, and everything removed again.
# Each command is printed before it runs. Needs root (the sandbox); run from the repository root.
set -euo pipefail
GPUCTL=${GPUCTL:-.venv/bin/gpuctl}
INVENTORY=inventory/sandbox.yaml

run() {
    printf '\n\033[1m$ %s\033[0m\n' "$*"
    "$@"
}

run "$GPUCTL" sandbox up
hub=$("$GPUCTL" sandbox status --json | python3 -c 'import json, sys; print(json.load(sys.stdin)["hub"])')
# The sandbox stands in for the model hubs (MindIE and llama-box models are downloaded by apply), and
# flux-1-dev is a gated model whose spec references the secret HF_TOKEN: any value does here.
export HF_ENDPOINT=$hub MODELSCOPE_ENDPOINT=$hub HF_TOKEN=${HF_TOKEN:-hf_sandbox_placeholder_token}
printf '\n$ export HF_ENDPOINT=%s MODELSCOPE_ENDPOINT=%s HF_TOKEN=...\n' "$hub" "$hub"

run "$GPUCTL" validate "$INVENTORY" specs/
run "$GPUCTL" plan -i "$INVENTORY" specs/ || true
run "$GPUCTL" apply -i "$INVENTORY" specs/ --auto-approve
run "$GPUCTL" status -i "$INVENTORY"

endpoint=$("$GPUCTL" status -i "$INVENTORY" --json | python3 -c '
import json, sys
rows = json.load(sys.stdin)["containers"]
print(next(r["endpoint"] for r in rows if r["deployment"] == "qwen3-8b"))')
run curl -sS "$endpoint/v1/chat/completions" -H 'Content-Type: application/json' \
    -d '{"model": "qwen3-8b", "messages": [{"role": "user", "content": "Hello!"}]}'
echo

run "$GPUCTL" logs qwen3-8b -i "$INVENTORY" --tail 5
run "$GPUCTL" destroy -i "$INVENTORY" --auto-approve
printf '\nThe sandbox is still up: `sudo make demo-down` removes it.\n'
