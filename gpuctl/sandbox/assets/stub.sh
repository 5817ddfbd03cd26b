#!/bin/sh
# gpuctl sandbox stub backend (busybox sh). Installed as vllm, python3, sglang, vox-box, llama-box,
# mindieservice_daemon, tini and ray: started with a backend's real command line, it serves HTTP on
# the port that command line (or MindIE's config.json) names, as the served model name it names.
# `ray start --head` returns at once (the vLLM leader's `ray start ... && exec vllm serve ...`),
# `ray start --block` (a Ray worker) waits; `python3 -c SCRIPT` (MindIE's model preparation) does
# nothing and succeeds; a llama-box RPC server serves on its --rpc-server-port.
# Faults by environment: GPUCTL_STUB_READY_AFTER=S (ready after S seconds), GPUCTL_STUB_NEVER_READY=1,
# GPUCTL_STUB_EXIT_AFTER=S (exit with status 1 after S seconds).
prog=${0##*/}
echo "gpuctl-stub: argv: $prog $*"

if [ "$prog" = tini ]; then
    while [ $# -gt 0 ]; do
        case "$1" in --) shift; break ;; -*) shift ;; *) break ;; esac
    done
    [ $# -gt 0 ] || { echo "tini: no program given" >&2; exit 1; }
    exec "$@"
fi

if [ "$prog" = ray ]; then
    case " $* " in
        *" --block "*)
            echo "gpuctl-stub: ray worker waiting"
            trap 'exit 0' TERM INT
            while :; do sleep 3600 & wait $!; done ;;
        *) echo "gpuctl-stub: ray head started"; exit 0 ;;
    esac
fi
case "$prog $1" in
    "python3 -c" | "python -c")
        echo "gpuctl-stub: $prog -c: script skipped"
        exit 0 ;;
esac

case "$prog" in
    vllm) port=8000 ;;
    python3 | python | sglang) port=30000 ;;
    llama-box) port=8080 ;;
    vox-box) port=80 ;;
    mindieservice_daemon) port=1025 ;;
    *) port=8000 ;;
esac
host=0.0.0.0
name=
model=
prev=
for arg in "$@"; do
    case "$prev" in
        --port | --rpc-server-port) port=$arg ;;
        --host | --rpc-server-host) host=$arg ;;
        --served-model-name | --alias | --model-name) [ -n "$name" ] || name=$arg ;;
        --model | --model-path | -m | --huggingface-repo-id | --model-scope-model-id) model=$arg ;;
        serve) case "$arg" in -*) ;; *) [ -n "$model" ] || model=$arg ;; esac ;;
    esac
    case "$arg" in
        --port=*) port=${arg#*=} ;;
        --host=*) host=${arg#*=} ;;
        --served-model-name=* | --alias=* | --model-name=*) [ -n "$name" ] || name=${arg#*=} ;;
        --model=* | --model-path=*) model=${arg#*=} ;;
    esac
    prev=$arg
done

if [ "$prog" = mindieservice_daemon ]; then
    conf=/usr/local/Ascend/mindie/latest/mindie-service/conf/config.json
    if [ ! -r "$conf" ]; then
        echo "gpuctl-stub: $conf not found: MindIE reads its port and model name there" >&2
        exit 1
    fi
    value() { grep -o "\"$1\" *: *\"*[^\",}]*" "$conf" | head -n 1 | sed 's/.*: *"*//'; }
    port=$(value port)
    name=$(value modelName)
    host=$(value ipAddress)
fi
[ -n "$name" ] || name=${model##*/}
[ -n "$name" ] || name=$prog

state=/tmp/gpuctl-stub
mkdir -p "$state"
rm -f "$state/ready"
export GPUCTL_STUB_NAME="$name" GPUCTL_STUB_STATE="$state"

case "${GPUCTL_STUB_NEVER_READY:-0}" in
    0 | "") (sleep "${GPUCTL_STUB_READY_AFTER:-0}" && touch "$state/ready" && echo "gpuctl-stub: ready") & ;;
    *) echo "gpuctl-stub: never becoming ready (GPUCTL_STUB_NEVER_READY)" ;;
esac

echo "gpuctl-stub: serving $name on $host:$port"
nc -ll -p "$port" "$host" -e /usr/local/lib/gpuctl-stub/handler 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; exit 0' TERM INT

if [ -n "$GPUCTL_STUB_EXIT_AFTER" ]; then
    sleep "$GPUCTL_STUB_EXIT_AFTER" &
    wait $!
    echo "gpuctl-stub: exiting with status 1 after ${GPUCTL_STUB_EXIT_AFTER}s (GPUCTL_STUB_EXIT_AFTER)"
    kill $server 2>/dev/null
    exit 1
fi
wait $server
echo "gpuctl-stub: could not serve on $host:$port" >&2
exit 1
