# gpuctl probe: what gpuctl needs to know about a host, in one run over one SSH connection.
#
#   sh -s -- NONCE MODEL_DIR GPU_FIELDS BASIC_GPU_FIELDS APP_FIELDS INSPECT_FORMAT < probe.sh
#
# Every command's output is framed by "@@NONCE begin NAME" and "@@NONCE end NAME STATUS" lines
# (its stderr, if any, likewise as "stderr:NAME"). gpuctl picks the nonce per run, so no output can
# fake a marker. The script parses nothing (it only picks pids and container ids, and sees whether
# docker has any container); gpuctl reads the sections on its side (gpuctl/probe/parse/). It only
# reads: nothing on the host is changed, not even a temporary file. It starts as few processes as
# it can (shell builtins where they do), as it runs on every host at once.

N=$1
MODEL_DIR=$2
GPU_FIELDS=$3
BASIC_GPU_FIELDS=$4
APP_FIELDS=$5
INSPECT_FORMAT=$6
LC_ALL=C
export LC_ALL

section() {
    name=$1
    shift
    printf '@@%s begin %s\n' "$N" "$name"
    # stdout goes straight out (fd 3); stderr is kept, to be framed after it
    { err=$("$@" 2>&1 >&3 3>&-); } 3>&1
    status=$?
    printf '\n@@%s end %s %s\n' "$N" "$name" "$status"
    if [ -n "$err" ]; then
        printf '@@%s begin stderr:%s\n%s\n@@%s end stderr:%s 0\n' "$N" "$name" "$err" "$N" "$name"
    fi
    return "$status"
}

have() {
    command -v "$1" >/dev/null 2>&1
}

# The cgroup of each process holding accelerator memory tells gpuctl whose container it is.
cgroups() {
    for pid in "$@"; do
        case $pid in
            '' | *[!0-9]*) ;;
            *) section "cgroup:$pid" cat "/proc/$pid/cgroup" ;;
        esac
    done
}

gpu_hooks() {
    for tool in nvidia-container-runtime-hook nvidia-container-toolkit; do
        command -v "$tool"
    done
    return 0
}

section hostname hostname
section os-release cat /etc/os-release
section uname uname -s -r -m
section nproc nproc
section meminfo cat /proc/meminfo
dir=$MODEL_DIR
while [ ! -e "$dir" ] && [ "$dir" != / ] && [ "$dir" != . ]; do
    case $dir in
        */*) dir=${dir%/*} && dir=${dir:-/} ;;
        *) dir=. ;;
    esac
done
section df df -PB1 "$dir"
# the ports outgoing connections take, and those reserved from them: a backend cannot bind a port
# that an outgoing connection holds (`cat`: /proc/sys files cannot be read a byte at a time)
section local-ports cat /proc/sys/net/ipv4/ip_local_port_range /proc/sys/net/ipv4/ip_local_reserved_ports
# the listening TCP sockets, whose ports no backend can bind: `ss -l` asks the kernel for those
# only; /proc/net/tcp (filtered by awk on the host) walks every connection, slow on a busy host
if have ss; then
    section listening ss -ltn
else
    section listening-proc awk '$4 == "0A" { print $2 }' /proc/net/tcp /proc/net/tcp6
fi

if have nvidia-smi; then
    gpus=$(section nvidia-gpus nvidia-smi "--query-gpu=$GPU_FIELDS" --format=csv,noheader,nounits ||
        section nvidia-gpus-basic nvidia-smi "--query-gpu=$BASIC_GPU_FIELDS" --format=csv,noheader,nounits)
    printf '%s\n' "$gpus"
    # MIG devices' UUIDs and profiles are only in -L; without MIG there is nothing to ask it
    case $gpus in
        *Enabled*) section nvidia-list nvidia-smi -L ;;
    esac
    section nvidia-table nvidia-smi
    apps=$(section nvidia-apps nvidia-smi "--query-compute-apps=$APP_FIELDS" --format=csv,noheader,nounits)
    printf '%s\n' "$apps"
    # gpu_uuid, pid, ...: the second word of each row
    cgroups $(printf '%s\n' "$apps" | while IFS=', ' read -r _uuid pid _rest; do printf '%s\n' "$pid"; done)
fi

if have npu-smi; then
    info=$(section npu-info npu-smi info)
    printf '%s\n' "$info"
    section npu-map npu-smi info -m
    section ascend-driver cat /usr/local/Ascend/driver/version.info
    for file in /usr/local/Ascend/ascend-toolkit/latest/*/ascend_toolkit_install.info \
        /usr/local/Ascend/cann/*/ascend_toolkit_install.info \
        /usr/local/Ascend/ascend-toolkit/latest/version.cfg; do
        if [ -f "$file" ]; then
            section cann cat "$file"
            break
        fi
    done
    # process rows: | NPU CHIP | PID | NAME | MEMORY |
    cgroups $(printf '%s\n' "$info" | while IFS='|' read -r _ _ids pid _rest; do printf '%s\n' $pid; done)
fi

if have rocm-smi; then
    section rocm-smi rocm-smi --showid --showmeminfo vram --showproductname --showuniqueid --json
elif have amd-smi; then
    section amd-smi-static amd-smi static --json
    section amd-smi-monitor amd-smi monitor -v
fi
if have amd-smi; then
    procs=$(section amd-smi-process amd-smi process --csv)
    printf '%s\n' "$procs"
    cgroups $(printf '%s\n' "$procs" | while IFS=',' read -r _gpu _name pid _rest; do printf '%s\n' "$pid"; done)
fi
if [ -f /opt/rocm/.info/version ]; then
    section rocm-version cat /opt/rocm/.info/version
fi

if have docker; then
    # the docker CLI is a Go program that makes one request: one thread and no garbage collector
    # are enough, and save a quarter of its CPU time
    GOMAXPROCS=1 GOGC=off
    export GOMAXPROCS GOGC
    info=$(section docker-info docker info --format '{{json .}}')
    printf '%s\n' "$info"
    section gpu-hooks gpu_hooks
    # a daemon that counts no container at all has none of gpuctl's to list
    case $info in
        *'"Containers":0,'*) ids= ;;
        *)
            ids=$(section docker-ps docker ps -a -q --no-trunc --filter label=gpuctl.managed=true)
            printf '%s\n' "$ids"
            ;;
    esac
    set --
    for word in $ids; do
        if [ ${#word} -eq 64 ]; then
            case $word in
                *[!0-9a-f]*) ;;
                *) set -- "$@" "$word" ;;
            esac
        fi
    done
    if [ $# -gt 0 ]; then
        section docker-inspect docker inspect --format "$INSPECT_FORMAT" "$@"
    fi
fi
exit 0
