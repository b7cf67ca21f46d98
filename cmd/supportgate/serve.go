package main

import (
	"context"
	"encoding/json"
	"flag"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/fsnotify/fsnotify"

	"supportgate/gateway"
	"supportgate/metrics"
	"supportgate/rules"
)

// grace is how long a shutdown waits for sessions and running jobs.
const grace = 30 * time.Second

func cmdServe(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := configFlag(fs)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	cfg, err := rules.Load(*path)
	if err != nil {
		io.WriteString(stderr, "supportgate: "+err.Error()+"\n")
		return 1
	}
	log := newLogger(cfg.Log.Format, cfg.Log.Level, os.Stderr)
	red := cfg.Redacted()
	if b, err := json.Marshal(red); err == nil {
		var m map[string]any
		json.Unmarshal(b, &m)
		log.Info("effective config", "version", version, "config", m)
	}
	startPprof(log)
	g, err := gateway.New(cfg, log)
	if err != nil {
		log.Error("cannot start", "err", err)
		return 1
	}
	if err := g.Start(); err != nil {
		log.Error("cannot start", "err", err)
		g.Stop(context.Background())
		return 1
	}

	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	changes := watchFile(cfg.Path, log)
	reload := func(why string) {
		c, err := rules.Load(cfg.Path)
		if err != nil {
			metrics.ConfigReloads.WithLabelValues("refused").Inc()
			log.Error("config reload refused; the running config stays in force", "why", why, "err", err.Error())
			return
		}
		if err := g.Reload(c); err != nil {
			metrics.ConfigReloads.WithLabelValues("refused").Inc()
			log.Error("config reload refused; the running config stays in force", "why", why, "err", err.Error())
			return
		}
		metrics.ConfigReloads.WithLabelValues("ok").Inc()
	}
	for {
		select {
		case s := <-sigs:
			if s == syscall.SIGHUP {
				reload("SIGHUP")
				continue
			}
			log.Info("shutting down", "signal", s.String())
			ctx, cancel := context.WithTimeout(context.Background(), grace)
			err := g.Stop(ctx)
			cancel()
			if err != nil {
				log.Warn("shutdown", "err", err)
			}
			return 0
		case <-changes:
			reload("file changed")
		case err := <-g.Errors():
			log.Error("listener failed", "err", err)
			ctx, cancel := context.WithTimeout(context.Background(), grace)
			g.Stop(ctx)
			cancel()
			return 1
		}
	}
}

// watchFile reports edits of the config file. It watches the folder, not
// the file: editors save by writing a new file and renaming it over the
// old, which a watch on the file itself would lose. Events are debounced
// so one save is one reload.
func watchFile(path string, log interface{ Warn(string, ...any) }) <-chan struct{} {
	out := make(chan struct{}, 1)
	w, err := fsnotify.NewWatcher()
	if err != nil {
		log.Warn("config file not watched (SIGHUP still reloads)", "err", err)
		return out
	}
	if err := w.Add(filepath.Dir(path)); err != nil {
		log.Warn("config file not watched (SIGHUP still reloads)", "err", err)
		return out
	}
	go func() {
		var timer <-chan time.Time
		for {
			select {
			case ev, ok := <-w.Events:
				if !ok {
					return
				}
				if filepath.Clean(ev.Name) == filepath.Clean(path) && ev.Op&(fsnotify.Write|fsnotify.Create|fsnotify.Rename) != 0 {
					timer = time.After(300 * time.Millisecond)
				}
			case <-timer:
				timer = nil
				select {
				case out <- struct{}{}:
				default:
				}
			case err, ok := <-w.Errors:
				if !ok {
					return
				}
				log.Warn("config watch", "err", err)
			}
		}
	}()
	return out
}
