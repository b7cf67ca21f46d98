package main

import (
	"context"
	"io"
	"log/slog"
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

func cmdServe(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("serve", stderr)
	path := configFlag(fs)
	if code, ok := parseFlags(fs, args, stdout, stderr); !ok {
		return code
	}
	cfg, err := rules.Load(*path)
	if err != nil {
		io.WriteString(stderr, "supportgate: "+err.Error()+"\n")
		return 1
	}
	log := newLogger(cfg.Log.Format, cfg.Log.Level, os.Stderr)
	// Typed key=value of the toml keys (never a %+v of the struct, which
	// showed private fields and the whole consent text).
	log.Info("effective config", "version", version, slog.Attr{Key: "config", Value: slog.GroupValue(cfg.LogAttrs()...)})
	startPprof(log)
	for _, w := range warnings(cfg) {
		log.Warn(w)
	}
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
	changes, rewatch := watchFiles(func() []string {
		c := g.Cfg.Get()
		return append([]string{c.Path, c.Autoreply.Template, c.Contacts.File}, letterFiles(c)...)
	}, log)
	reload := func(why string) {
		c, err := rules.Load(cfg.Path)
		if err != nil {
			g.NoteReload(err)
			metrics.ConfigReloads.WithLabelValues("refused").Inc()
			log.Error("config reload refused; the running config stays in force", "why", why, "err", err.Error())
			return
		}
		err = g.Reload(c)
		g.NoteReload(err)
		if err != nil {
			metrics.ConfigReloads.WithLabelValues("refused").Inc()
			log.Error("config reload refused; the running config stays in force", "why", why, "err", err.Error())
			return
		}
		metrics.ConfigReloads.WithLabelValues("ok").Inc()
		rewatch()
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

// watchFiles reports edits of the files the config names (the config
// itself, the auto-reply template, the contacts) as returned by paths,
// asked again after each change so a reload that names new files is
// followed. It watches their folders, not the files: editors save by
// writing a new file and renaming it over the old, which a watch on the
// file itself would lose. Events are debounced so one save is one reload.
//
// rewatch, called after a reload, picks up files the new config names.
func watchFiles(paths func() []string, log interface{ Warn(string, ...any) }) (changes <-chan struct{}, rewatch func()) {
	out := make(chan struct{}, 1)
	again := make(chan struct{}, 1)
	rewatch = func() {
		select {
		case again <- struct{}{}:
		default:
		}
	}
	w, err := fsnotify.NewWatcher()
	if err != nil {
		log.Warn("config files not watched (SIGHUP still reloads)", "err", err)
		return out, rewatch
	}
	watched := map[string]bool{}
	files := map[string]bool{}
	refresh := func() {
		clear(files)
		for _, p := range paths() {
			if p == "" {
				continue
			}
			files[filepath.Clean(p)] = true
			if d := filepath.Dir(p); !watched[d] {
				if err := w.Add(d); err != nil {
					log.Warn("folder not watched (SIGHUP still reloads)", "dir", d, "err", err)
					continue
				}
				watched[d] = true
			}
		}
	}
	refresh()
	go func() {
		var timer <-chan time.Time
		for {
			select {
			case ev, ok := <-w.Events:
				if !ok {
					return
				}
				if files[filepath.Clean(ev.Name)] && ev.Op&(fsnotify.Write|fsnotify.Create|fsnotify.Rename) != 0 {
					timer = time.After(300 * time.Millisecond)
				}
			case <-again:
				refresh()
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
	return out, rewatch
}

// letterFiles are the per-mailbox templates, signatures and calendars:
// an edit of one reloads like an edit of the config.
func letterFiles(c *rules.Config) []string {
	var out []string
	add := func(p string) {
		if p != "" && p != "none" {
			out = append(out, p)
		}
	}
	add(c.Autoreply.NotifyTemplate)
	add(c.Autoreply.Signature)
	for _, s := range c.AllSettings() {
		add(s.Template)
		add(s.NotifyTemplate)
		add(s.Signature)
	}
	for _, h := range c.Hours {
		add(h.Calendar)
	}
	return out
}
