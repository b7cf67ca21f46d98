#!/usr/bin/env bash
# bench/run.sh — the `make bench` driver: supportgate vs Postfix vs a sink, same client.
#
# Steps (each skips with a message when its prerequisite is missing):
#   a  go test -bench for every package            -> results/go-bench.txt
#   b  build bin/supportgate (if cmd/supportgate exists) and bin/smtpload
#   c  start a discard sink (smtpload -sink) as supportgate's upstream and supportgate
#      itself with a generated config in a temp dir
#   d  RSS run: RSS_SESSIONS sessions each send one RSS_SIZE message; supportgate's
#      VmRSS is sampled every 100 ms (done first, so VmHWM also means "peak so far")
#   e  throughput: smtpload, CONCS x SIZES, conn mode, against supportgate and the sink
#   f  Postfix (root + postfix + smtp-source + the workspace's anchor script
#      ../shared/bench/postfix-anchor.sh when present; method: docs/benchmarks.md):
#      the anchor script (smtp-source: sink, postfix relay, hold), then the same Postfix
#      instance again with smtpload in relay and hold mode, for p50/p99
#   g  side-by-side table -> results/summary.txt (and stdout)
#   h  real time under load (cmd/loadbench, no root): a 1,000-message burst and a steady
#      10 msg/s for LOAD_STEADY against the fake Bitrix24 portal at 2 req/s, burst 50
#                                                      -> results/load.txt (and stdout)
#
# Env knobs (defaults in brackets):
#   N_SMALL [5000]  N_LARGE [1000]   messages per run; "large" = size > 16384
#   CONCS ["1 10 50"]  SIZES ["4096 102400"]  MODE [conn]  (conn|reuse, smtpload -mode)
#   RSS_SESSIONS [50]  RSS_SIZE [10485760]  (RSS_SESSIONS=0 skips the RSS run)
#   SG_PORT [2625]  SG_HTTP_PORT [2680]  UP_PORT [2626]   supportgate SMTP/HTTP, its upstream sink
#   SG_BIN [""]      a prebuilt supportgate to run instead of building cmd/supportgate
#   SG_EXTRA_TOML [""]   appended to the generated config (new required sections go here)
#   POSTFIX [auto]   auto: run when possible; 0: skip      PF_REPS [1]
#   PF_RELAY_PORT [2525]  PF_SINK_PORT [2526]  (passed to the anchor as RELAY_PORT/SINK_PORT)
#   GO_BENCH [1]     0 skips step a
#   RUN_TIMEOUT [600]  hard cap in seconds per smtpload run; PF_TIMEOUT [3600] for the anchor
#   DRAIN_TIMEOUT [120] seconds to wait for a queue to empty between runs
#   RESULTS [bench/results]
#   LOAD [1]  0 skips step h      LOAD_STEADY [2m]  length of its steady run
# Outputs in $RESULTS: go-bench.txt, runs.jsonl (one smtpload JSON line per run), rss.txt,
#   postfix-anchor.txt + postfix-results.tsv, supportgate.log, summary.txt.
# Everything listens on 127.0.0.1 only; every process started here is stopped by PID
# (or `postfix -c <its conf> stop`) on exit; every wait is bounded.
set -uo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO" || exit 1

N_SMALL=${N_SMALL:-5000}
N_LARGE=${N_LARGE:-1000}
CONCS=${CONCS:-"1 10 50"}
CONCS=${CONCS//,/ } # "1,10,50" works too
SIZES=${SIZES:-"4096 102400"}
SIZES=${SIZES//,/ }
MODE=${MODE:-conn}
RSS_SESSIONS=${RSS_SESSIONS:-50}
RSS_SIZE=${RSS_SIZE:-10485760}
SG_PORT=${SG_PORT:-2625}
SG_HTTP_PORT=${SG_HTTP_PORT:-2680}
UP_PORT=${UP_PORT:-2626}
SG_EXTRA_TOML=${SG_EXTRA_TOML:-}
SG_BIN=${SG_BIN:-}
POSTFIX=${POSTFIX:-auto}
PF_REPS=${PF_REPS:-1}
PF_RELAY_PORT=${PF_RELAY_PORT:-2525}
PF_SINK_PORT=${PF_SINK_PORT:-2526}
GO_BENCH=${GO_BENCH:-1}
RUN_TIMEOUT=${RUN_TIMEOUT:-600}
PF_TIMEOUT=${PF_TIMEOUT:-3600}
DRAIN_TIMEOUT=${DRAIN_TIMEOUT:-120}
RESULTS=${RESULTS:-$REPO/bench/results}
LOAD=${LOAD:-1}
LOAD_STEADY=${LOAD_STEADY:-2m}
ANCHOR=$REPO/../shared/bench/postfix-anchor.sh

# /tmp: the storage dir must be on the same filesystem as /tmp (issue requirement).
WORK=$(mktemp -d /tmp/sgbench.XXXXXX)
chmod 755 "$WORK" # Postfix daemons (user postfix) must reach the queue dir below it
PIDS=()        # background processes started here, stopped by PID on exit
PF_CONF=""     # set while a Postfix instance started here may be running

log() { printf '%s %s\n' "$(date +%T)" "$*" >&2; }

cleanup() {
	local p
	if [ -n "$PF_CONF" ]; then postfix -c "$PF_CONF" stop >/dev/null 2>&1; PF_CONF=""; fi
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do
		for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$p" 2>/dev/null
	done
	[ -f "$WORK/sg/supportgate.log" ] && cp "$WORK/sg/supportgate.log" "$RESULTS/" 2>/dev/null
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port_busy() { ss -Hltn "sport = :$1" | grep -q .; }
wait_port() { for _ in $(seq 1 200); do port_busy "$1" && return 0; sleep 0.05; done; return 1; }

# start_sink PORT NAME: discard sink that writes its count to $WORK/NAME.out every 200 ms
start_sink() {
	port_busy "$1" && { log "port $1 busy, cannot start sink $2"; return 1; }
	bin/smtpload -sink -listen "127.0.0.1:$1" -sink-every 200ms >"$WORK/$2.out" 2>&1 &
	PIDS+=($!)
	wait_port "$1" || { log "sink $2 did not listen on $1"; return 1; }
}
sink_count() { local c; c=$(tail -n 1 "$WORK/$1.out" 2>/dev/null | sed -n 's/.*messages=\([0-9]*\).*/\1/p'); echo "${c:-0}"; }

# wait_sink NAME WANT: bounded wait until a sink has seen WANT messages (queue drained)
wait_sink() {
	for _ in $(seq 1 $((DRAIN_TIMEOUT * 10))); do [ "$(sink_count "$1")" -ge "$2" ] && return 0; sleep 0.1; done
	log "WARNING: sink $1 has $(sink_count "$1") of $2 messages after ${DRAIN_TIMEOUT}s"
}

# load LABEL PORT SIZE CONC TO: one smtpload run, JSON line appended to runs.jsonl;
# prints the accepted count.
load() {
	local label=$1 port=$2 size=$3 conc=$4 to=$5 n=$N_SMALL out
	[ "$size" -gt 16384 ] && n=$N_LARGE
	out=$(timeout -k 5 "$RUN_TIMEOUT" bin/smtpload -json -label "$label" -addr "127.0.0.1:$port" \
		-mode "$MODE" -c "$conc" -size "$size" -n "$n" -to "$to" -from bench@src.test)
	if [ -z "$out" ]; then log "smtpload $label $size/$conc produced nothing"; echo 0; return; fi
	echo "$out" >>"$RESULTS/runs.jsonl"
	echo "$out" | jq -r '"\(.target) size=\(.size) c=\(.conc) \(.msgs_per_s|floor) msgs/s p50=\(.p50_ms) p99=\(.p99_ms) failed=\(.failed) \(.errors // {} | tostring)"' >&2
	echo "$out" | jq -r .accepted
}

mkdir -p "$RESULTS" bin
: >"$RESULTS/runs.jsonl"
rm -f "$RESULTS/postfix-results.tsv" "$RESULTS/rss.txt"

# ---------------------------------------------------------------- a: go benchmarks
if [ "$GO_BENCH" != 0 ]; then
	log "step a: go test -bench ./... -> $RESULTS/go-bench.txt"
	# Packages without benchmarks just print "no test files"/PASS; a failing package
	# must not stop the load runs, so the exit code is only logged.
	go test -run '^$' -bench . -benchmem -timeout 15m ./... >"$RESULTS/go-bench.txt" 2>&1 ||
		log "go test -bench exited non-zero (see go-bench.txt); continuing"
fi

# ---------------------------------------------------------------- b: build
log "step b: build"
go build -o bin/smtpload ./cmd/smtpload || { log "FATAL: cannot build smtpload"; exit 1; }
HAVE_SG=""
if [ -n "$SG_BIN" ]; then
	[ -x "$SG_BIN" ] && HAVE_SG=1 || log "SG_BIN=$SG_BIN is not executable; skipping supportgate runs"
elif [ -d cmd/supportgate ]; then
	SG_BIN=bin/supportgate
	go build -o "$SG_BIN" ./cmd/supportgate && HAVE_SG=1 || log "supportgate does not build; skipping its runs"
else
	log "cmd/supportgate not there yet; skipping supportgate runs"
fi

# ---------------------------------------------------------------- c: sink + supportgate
log "step c: sink on $UP_PORT, supportgate on $SG_PORT"
start_sink "$UP_PORT" up || exit 1
EXPECT_UP=0 # messages the upstream sink should have seen so far
SG_PID=""
if [ -n "$HAVE_SG" ]; then
	mkdir -p "$WORK/sg/storage"
	# One section per contract block; the sections a bench does not exercise are left
	# out. New required keys: pass them in SG_EXTRA_TOML rather than editing this.
	cat >"$WORK/sg/config.toml" <<-TOML
	[smtp]
	listen = "127.0.0.1:$SG_PORT"
	hostname = "bench.test"
	max_message_bytes = $((RSS_SIZE * 2 > 26214400 ? RSS_SIZE * 2 : 26214400))
	# one client IP and one sender send everything: lift the abuse limits
	max_connections_per_ip = 1000
	max_connections_per_minute = 0
	max_messages_per_sender = 0

	[http]
	listen = "127.0.0.1:$SG_HTTP_PORT"

	[storage]
	dir = "$WORK/sg/storage"

	[upstream]
	address = "127.0.0.1:$UP_PORT"
	protocol = "smtp"

	[outbound]
	address = "127.0.0.1:$UP_PORT"

	[[mailbox]]
	address = "support@bench.test"

	[autoreply]
	enabled = false

	[auth]
	# no DNS off the box during a benchmark
	resolver = "127.0.0.1:53"
	autoreply = "off"

	$SG_EXTRA_TOML
	TOML
	if port_busy "$SG_PORT"; then
		log "port $SG_PORT busy; skipping supportgate runs"
	else
		"$SG_BIN" serve -config "$WORK/sg/config.toml" >"$WORK/sg/supportgate.log" 2>&1 &
		SG_PID=$!
		PIDS+=("$SG_PID")
		if ! wait_port "$SG_PORT"; then
			log "supportgate did not listen on $SG_PORT (log: $RESULTS/supportgate.log); skipping its runs"
			tail -n 20 "$WORK/sg/supportgate.log" >&2
			SG_PID=""
		fi
	fi
fi

# ---------------------------------------------------------------- d: RSS
if [ -n "$SG_PID" ] && [ "$RSS_SESSIONS" -gt 0 ]; then
	log "step d: RSS, $RSS_SESSIONS sessions x $RSS_SIZE bytes"
	bench/rss-sample.sh "$SG_PID" >"$WORK/rss.samples" &
	SAMPLER=$!
	PIDS+=("$SAMPLER")
	timeout -k 5 "$RUN_TIMEOUT" bin/smtpload -json -label supportgate-rss -addr "127.0.0.1:$SG_PORT" \
		-c "$RSS_SESSIONS" -n "$RSS_SESSIONS" -size "$RSS_SIZE" -timeout 300s -to support@bench.test \
		>"$WORK/rss.json"
	kill "$SAMPLER" 2>/dev/null
	wait "$SAMPLER" 2>/dev/null
	cat "$WORK/rss.json" >>"$RESULTS/runs.jsonl"
	acc=$(jq -r '.accepted // 0' "$WORK/rss.json" 2>/dev/null || echo 0)
	EXPECT_UP=$((EXPECT_UP + ${acc:-0}))
	awk -v s="$RSS_SESSIONS" -v z="$RSS_SIZE" -v acc="${acc:-0}" '
		{ if ($1 > r) r = $1; if ($2 > h) h = $2; n++ }
		END { printf "supportgate RSS during %d x %d-byte messages (%d accepted): peak VmRSS %.1f MB, VmHWM %.1f MB (%d samples at 100 ms)\n", s, z, acc, r/1024, h/1024, n }' \
		"$WORK/rss.samples" | tee "$RESULTS/rss.txt" >&2
	wait_sink up "$EXPECT_UP"
fi

# ---------------------------------------------------------------- e: throughput
log "step e: throughput, sizes [$SIZES] x sessions [$CONCS], mode $MODE"
for size in $SIZES; do
	for conc in $CONCS; do
		EXPECT_UP=$((EXPECT_UP + $(load go-sink "$UP_PORT" "$size" "$conc" support@bench.test)))
		if [ -n "$SG_PID" ]; then
			# start each run with supportgate's queue drained, so runs do not overlap
			wait_sink up "$EXPECT_UP"
			EXPECT_UP=$((EXPECT_UP + $(load supportgate "$SG_PORT" "$size" "$conc" support@bench.test)))
		fi
	done
done
[ -n "$SG_PID" ] && wait_sink up "$EXPECT_UP"
# Stop supportgate and its sink before Postfix runs: they would share the two cores.
for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
PIDS=()

# ---------------------------------------------------------------- f: Postfix
# shellcheck source=bench/postfix.sh
. bench/postfix.sh
postfix_step

# ---------------------------------------------------------------- g: summary
python3 bench/summary.py "$RESULTS" | tee "$RESULTS/summary.txt"

# ---------------------------------------------------------------- h: real time under load
if [ "$LOAD" != 0 ]; then
	log "step h: real time under load (burst + steady $LOAD_STEADY) -> $RESULTS/load.txt"
	go run ./cmd/loadbench -steady "$LOAD_STEADY" >"$RESULTS/load.txt" 2>"$RESULTS/load.log" ||
		log "loadbench exited non-zero (a duplicate or a missing item; see load.txt, load.log)"
	cat "$RESULTS/load.txt"
fi
