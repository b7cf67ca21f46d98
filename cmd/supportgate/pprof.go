package main

import (
	"log/slog"
	"net/http"
	"net/http/pprof"
	"os"
)

// startPprof serves Go's profiler on $SUPPORTGATE_PPROF (e.g.
// 127.0.0.1:6060) when set: for measuring, never on a public address.
func startPprof(log *slog.Logger) {
	addr := os.Getenv("SUPPORTGATE_PPROF")
	if addr == "" {
		return
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	go func() { log.Warn("pprof", "err", http.ListenAndServe(addr, mux)) }()
}
