# postfix.sh — sourced by run.sh (uses its log/load/start_sink/wait_sink and its trap).
# Step f: Postfix on loopback, measured twice:
#   1. the workspace's ../shared/bench/postfix-anchor.sh, when present (docs/benchmarks.md
#      says what it does), sections sink/postfix/hold (smtp-source, its own
#      smtp-sink and private Postfix instance under $WORK/pfbench), raw rows kept;
#   2. the same instance restarted with a smtpload sink as next hop, driven by smtpload in
#      relay and hold mode, so Postfix gets p50/p99 from the very client supportgate got.
# Both run after supportgate is stopped: the box has two cores and the runs must not overlap.

postfix_step() {
	local why=""
	[ "$POSTFIX" = 0 ] && why="POSTFIX=0"
	[ -z "$why" ] && [ ! -f "$ANCHOR" ] && why="$ANCHOR not found"
	[ -z "$why" ] && [ "$(id -u)" -ne 0 ] && why="not root"
	local c
	for c in postfix postconf postsuper smtp-source smtp-sink; do
		[ -z "$why" ] && ! command -v "$c" >/dev/null && why="$c not installed"
	done
	if [ -n "$why" ]; then
		log "step f: skipping Postfix ($why)"
		return 0
	fi

	local base=$WORK/pfbench
	log "step f: postfix-anchor.sh sink postfix hold (REPS=$PF_REPS, conn mode) -> $RESULTS/postfix-anchor.txt"
	timeout -k 30 "$PF_TIMEOUT" env BASE="$base" REPS="$PF_REPS" N_SMALL="$N_SMALL" N_LARGE="$N_LARGE" \
		CONCS="$CONCS" SIZES="$SIZES" MODES=conn RELAY_PORT="$PF_RELAY_PORT" SINK_PORT="$PF_SINK_PORT" \
		bash "$ANCHOR" sink postfix hold >"$RESULTS/postfix-anchor.txt" 2>&1 ||
		log "postfix-anchor.sh exited non-zero (see postfix-anchor.txt)"
	[ -f "$base/results.tsv" ] && cp "$base/results.tsv" "$RESULTS/postfix-results.tsv"
	[ -f "$base/maillog" ] && tail -n 200 "$base/maillog" >"$RESULTS/postfix-maillog.txt"

	# Reuse the instance the anchor configured (it stops Postfix but leaves conf + spool).
	[ -f "$base/conf/main.cf" ] || { log "no Postfix config left by the anchor; no smtpload run"; return 0; }
	port_busy "$PF_RELAY_PORT" && { log "port $PF_RELAY_PORT busy; no smtpload run against Postfix"; return 0; }
	start_sink "$PF_SINK_PORT" pf || return 0
	PF_CONF=$base/conf
	postfix -c "$PF_CONF" start >/dev/null 2>&1 || { log "postfix start failed"; PF_CONF=""; return 0; }
	wait_port "$PF_RELAY_PORT" || { log "Postfix not listening on $PF_RELAY_PORT"; return 0; }

	local size conc expect=0
	log "step f: smtpload -> Postfix relay (next hop: smtpload sink on $PF_SINK_PORT)"
	for size in $SIZES; do
		for conc in $CONCS; do
			wait_sink pf "$expect" # the queue is empty: runs do not overlap
			expect=$((expect + $(load pf-relay "$PF_RELAY_PORT" "$size" "$conc" rcpt@sink.test)))
		done
	done
	wait_sink pf "$expect"

	log "step f: smtpload -> Postfix hold (accept path only)"
	postconf -c "$PF_CONF" -e 'smtpd_client_restrictions = check_client_access inline:{ 127.0.0.1=HOLD }'
	postfix -c "$PF_CONF" reload >/dev/null 2>&1
	sleep 2 # smtpd processes pick up the reload
	for size in $SIZES; do
		for conc in $CONCS; do
			load pf-hold "$PF_RELAY_PORT" "$size" "$conc" rcpt@sink.test >/dev/null
			postsuper -c "$PF_CONF" -d ALL hold >/dev/null 2>&1
		done
	done
	postconf -c "$PF_CONF" -X smtpd_client_restrictions
	postfix -c "$PF_CONF" stop >/dev/null 2>&1
	PF_CONF=""
}
