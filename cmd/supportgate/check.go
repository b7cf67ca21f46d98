package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"supportgate/queue"
	"supportgate/rules"
	"supportgate/store"
	"supportgate/tracker"
)

func cmdCheck(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("check", stderr)
	path := configFlag(fs)
	online := fs.Bool("online", false, "also try each forward_to at the upstream (RCPT, RSET) and call Bitrix24 (user.current)")
	if code, ok := parseFlags(fs, args, stdout, stderr); !ok {
		return code
	}
	cfg, err := rules.Load(*path)
	if err != nil {
		fmt.Fprintln(stderr, "supportgate: "+err.Error())
		return 1
	}
	if err := checkMore(cfg, stdout); err != nil {
		var ke *rules.KeyError
		if errors.As(err, &ke) {
			err = &rules.Errors{Path: *path, Errs: []error{ke}}
		}
		fmt.Fprintln(stderr, "supportgate: "+err.Error())
		return 1
	}
	for _, w := range warnings(cfg) {
		fmt.Fprintln(stdout, "warning: "+w)
	}
	if *online {
		errs := checkUpstream(cfg, stdout)
		if cfg.Bitrix.WebhookURL == "" && cfg.Bitrix.WebhookURLFile == "" {
			fmt.Fprintln(stdout, "bitrix: webhook_url not set; not tested")
		} else if err := checkBitrix(cfg, stdout); err != nil {
			errs = append(errs, &rules.KeyError{Key: "bitrix.webhook_url", Msg: err.Error()})
		}
		if len(errs) > 0 {
			fmt.Fprintln(stderr, "supportgate: "+(&rules.Errors{Path: *path, Errs: errs}).Error())
			return 1
		}
	}
	fmt.Fprintf(stdout, "%s: OK (%d mailbox(es), upstream %s %s)\n", *path, len(cfg.Mailbox), cfg.Upstream.Protocol, cfg.Upstream.Address)
	return 0
}

// checkBitrix calls user.current through the configured webhook: it
// proves the URL, the secret and the scopes without touching any task.
func checkBitrix(cfg *rules.Config, stdout io.Writer) error {
	if cfg.Bitrix.WebhookURL == "" && cfg.Bitrix.WebhookURLFile == "" {
		return errors.New("not set; nothing to test")
	}
	st, err := store.Open(filepath.Join(os.TempDir(), fmt.Sprintf("supportgate-check-%d", os.Getpid())))
	if err != nil {
		return err
	}
	defer func() {
		st.Close()
		os.RemoveAll(filepath.Join(os.TempDir(), fmt.Sprintf("supportgate-check-%d", os.Getpid())))
	}()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	tr, err := tracker.New(rules.NewHolder(cfg), st, queue.New(st, log, 1, queue.Policy{}), log)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := tr.Check(ctx); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "bitrix: webhook %s answers user.current\n", rules.RedactURL(cfg.Bitrix.WebhookURL))
	if where, err := tr.FilesTarget(ctx); err != nil {
		fmt.Fprintf(stdout, "bitrix: files: WARNING: no Drive folder (%v): attachments will only be named in tasks\n", err)
	} else {
		fmt.Fprintf(stdout, "bitrix: files go to %s\n", where)
	}
	return nil
}

// warnings are settings that are valid but probably not meant.
func warnings(cfg *rules.Config) []string {
	var out []string
	b := cfg.Bitrix
	if (b.WebhookURL != "" || b.WebhookURLFile != "") && b.ApplicationToken == "" && b.ApplicationTokenFile == "" {
		out = append(out, "bitrix.application_token is empty: every event call from Bitrix24 will get 401 (copy it from the outgoing webhook)")
	}
	if cfg.Upstream.Notify == "" {
		out = append(out, "upstream.notify is empty: a forward_to the mailbox server refuses holds mail with only a log line to say so (set an admin address)")
	}
	return out
}
