#!/bin/sh
# One HTTP exchange of the gpuctl sandbox stub; busybox nc runs it per connection with the socket
# on stdin/stdout. Logs the request on stderr (the container's log).
cr=$(printf '\r')
read -r method path _ || exit 0
length=0
while read -r line; do
    line=${line%"$cr"}
    [ -n "$line" ] || break
    case "$line" in [Cc]ontent-[Ll]ength:*) length=${line#*:} ;; esac
done
length=$((length + 0))
[ "$length" -gt 0 ] && head -c "$length" >/dev/null

reply() {
    echo "gpuctl-stub: $method $path -> $1" >&2
    printf 'HTTP/1.1 %s\r\nContent-Type: application/json\r\nContent-Length: %s\r\nConnection: close\r\n\r\n%s' \
        "$1" "${#2}" "$2"
}

name=$GPUCTL_STUB_NAME
if [ ! -e "$GPUCTL_STUB_STATE/ready" ]; then
    reply "503 Service Unavailable" '{"error":"model is loading"}'
    exit 0
fi
case "$method $path" in
    "GET /v1/models" | "GET /v1/models?"*)
        reply "200 OK" "{\"object\":\"list\",\"data\":[{\"id\":\"$name\",\"object\":\"model\",\"created\":0,\"owned_by\":\"gpuctl-sandbox\"}]}" ;;
    "POST /v1/chat/completions"*)
        reply "200 OK" "{\"id\":\"chatcmpl-gpuctl-sandbox\",\"object\":\"chat.completion\",\"created\":0,\"model\":\"$name\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"Hello from the gpuctl sandbox stub.\"},\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":7,\"total_tokens\":8}}" ;;
    GET\ *) reply "200 OK" '{"status":"ok"}' ;;
    *) reply "404 Not Found" '{"error":"not found"}' ;;
esac
