#!/usr/bin/env bash
# bench/rss-tasks.sh — supportgate's peak memory with Bitrix24 tasks on (issue 14):
# RSS_SESSIONS parallel messages, each with one RSS_ATTACH-byte attachment (about
# 20 MB on the wire by default), against the fake portal (cmd/fakeportal, its own
# process, so its memory is not counted) with folder uploads on. Samples VmRSS/VmHWM
# of supportgate every 100 ms from the first byte until every task's files job is done.
# Prints one line and writes it to $RESULTS/rss-tasks.txt.
#
# Env: RSS_SESSIONS [50]  RSS_ATTACH [15000000]  RESULTS [bench/results]
#      ports: SG_PORT [2725] SG_HTTP_PORT [2780] SG_CONSOLE_PORT [2781] UP_PORT [2726]
#             PORTAL_PORT [2790] PORTAL_UI_PORT [2791]   DRAIN_TIMEOUT [600]
# Everything listens on 127.0.0.1; every process started here is stopped by PID.
set -uo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO" || exit 1
RSS_SESSIONS=${RSS_SESSIONS:-50}
RSS_ATTACH=${RSS_ATTACH:-15000000}
RESULTS=${RESULTS:-$REPO/bench/results}
SG_PORT=${SG_PORT:-2725} SG_HTTP_PORT=${SG_HTTP_PORT:-2780} SG_CONSOLE_PORT=${SG_CONSOLE_PORT:-2781}
UP_PORT=${UP_PORT:-2726} PORTAL_PORT=${PORTAL_PORT:-2790} PORTAL_UI_PORT=${PORTAL_UI_PORT:-2791}
DRAIN_TIMEOUT=${DRAIN_TIMEOUT:-600}
WORK=$(mktemp -d /tmp/sgrss.XXXXXX)
PIDS=()
log() { printf '%s %s\n' "$(date +%T)" "$*" >&2; }
cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do
		for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$p" 2>/dev/null
	done
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
port_busy() { ss -Hltn "sport = :$1" | grep -q .; }
wait_port() { for _ in $(seq 1 200); do port_busy "$1" && return 0; sleep 0.05; done; return 1; }
for p in $SG_PORT $SG_HTTP_PORT $SG_CONSOLE_PORT $UP_PORT $PORTAL_PORT $PORTAL_UI_PORT; do
	port_busy "$p" && { log "port $p busy"; exit 1; }
done

mkdir -p "$RESULTS" bin
go build -o bin/supportgate ./cmd/supportgate && go build -o bin/smtpload ./cmd/smtpload &&
	go build -o bin/fakeportal ./cmd/fakeportal && go build -o bin/bigmail ./bench/bigmail || exit 1

bin/smtpload -sink -listen "127.0.0.1:$UP_PORT" >"$WORK/sink.out" 2>&1 &
PIDS+=($!)
bin/fakeportal -listen "127.0.0.1:$PORTAL_PORT" -ui "127.0.0.1:$PORTAL_UI_PORT" \
	-handler "http://127.0.0.1:$SG_HTTP_PORT/bitrix/event" >"$WORK/portal.log" 2>&1 &
PIDS+=($!)
wait_port "$UP_PORT" && wait_port "$PORTAL_PORT" || { log "sink or portal did not start"; exit 1; }

mkdir -p "$WORK/sg/storage"
cat >"$WORK/sg/config.toml" <<TOML
[smtp]
listen = "127.0.0.1:$SG_PORT"
hostname = "bench.test"
max_message_bytes = 31457280
max_connections_per_ip = 1000
max_connections_per_minute = 0
max_messages_per_sender = 0
max_messages_per_ip = 0
[http]
listen = "127.0.0.1:$SG_HTTP_PORT"
[console]
listen = "127.0.0.1:$SG_CONSOLE_PORT"
[storage]
dir = "$WORK/sg/storage"
[upstream]
address = "127.0.0.1:$UP_PORT"
[outbound]
address = "127.0.0.1:$UP_PORT"
tls = "none"
[[mailbox]]
address = "support@bench.test"
[autoreply]
enabled = false
[auth]
autoreply = "off"
[bitrix]
webhook_url = "http://127.0.0.1:$PORTAL_PORT/rest/1/demo-secret/"
responsible_id = 7
folder_id = 11
rate_per_second = 50
poll_interval = "1h"
[log]
level = "warn"
TOML
bin/supportgate serve -config "$WORK/sg/config.toml" >"$WORK/sg.log" 2>&1 &
SG_PID=$!
PIDS+=("$SG_PID")
wait_port "$SG_PORT" || { log "supportgate did not start"; tail "$WORK/sg.log" >&2; exit 1; }

bench/rss-sample.sh "$SG_PID" >"$WORK/rss.samples" &
SAMPLER=$!
PIDS+=("$SAMPLER")
start=$(date +%s)
bin/bigmail -addr "127.0.0.1:$SG_PORT" -n "$RSS_SESSIONS" -size "$RSS_ATTACH" -to support@bench.test >&2 ||
	{ log "bigmail failed"; exit 1; }
# A task is done when its files are attached too: the files job (which
# streams every attachment and the .eml to Drive) follows the task job.
tasks_done() {
	curl -s "http://127.0.0.1:$SG_HTTP_PORT/metrics" |
		awk '/^supportgate_job_runs_total\{kind="files",outcome="done"\}/ { print $2 }'
}
for _ in $(seq 1 $((DRAIN_TIMEOUT * 2))); do
	d=$(tasks_done); [ "${d:-0}" -ge "$RSS_SESSIONS" ] && break
	sleep 0.5
done
took=$(($(date +%s) - start))
kill "$SAMPLER" 2>/dev/null
wait "$SAMPLER" 2>/dev/null
d=$(tasks_done)
awk -v s="$RSS_SESSIONS" -v z="$RSS_ATTACH" -v d="${d:-0}" -v t="$took" '
	{ if ($1 > r) r = $1; if ($2 > h) h = $2; n++ }
	END { printf "supportgate RSS with Bitrix24 tasks on, %d messages with a %d-byte attachment each (%d tasks done, %d s): peak VmRSS %.1f MB, VmHWM %.1f MB (%d samples)\n", s, z, d, t, r/1024, h/1024, n }' \
	"$WORK/rss.samples" | tee "$RESULTS/rss-tasks.txt"
grep -m5 -i '"level":"error"' "$WORK/sg.log" >&2 || true
