#!/usr/bin/env bash
# rss-sample.sh PID: print "VmRSS_kB VmHWM_kB" for PID every 100 ms until PID exits
# or this script is killed; capped at one hour of samples so it always ends.
# Reads /proc with bash builtins only, so sampling costs no forks (the box has 2 cores).
pid=$1
for _ in $(seq 1 36000); do
	rss="" hwm=""
	while read -r k v _; do
		case $k in VmRSS:) rss=$v ;; VmHWM:) hwm=$v ;; esac
	done <"/proc/$pid/status" 2>/dev/null || exit 0
	[ -n "$rss" ] && echo "$rss $hwm"
	sleep 0.1
done
