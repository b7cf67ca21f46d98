package gateway

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"supportgate/bitrix/bitrixtest"
	"supportgate/console"
	"supportgate/mailtest"
	"supportgate/store"
)

// consoleChromium finds Debian's chromium (.ci/run installs it).
func consoleChromium(t *testing.T) string {
	for _, n := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	t.Skip("chromium not installed (apt-get install chromium; .ci/run does): the console's browser test is skipped")
	return ""
}

// consoleBrowser is a headless Chromium with a fresh profile and nothing
// that reaches outside.
func consoleBrowser(t *testing.T) context.Context {
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(consoleChromium(t)),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("lang", "en-US"),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1024, 800),
	}
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	ctx, cancel2 := chromedp.NewContext(actx)
	t.Cleanup(cancel2)
	ctx, cancel3 := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(cancel3)
	return ctx
}

// consoleEnv is a gateway with the fake portal and a console user, and
// retries far apart, so that only Retry now brings a failed forward back
// within the test.
func consoleEnv(t *testing.T) (*env, *bitrixtest.Portal) { return consoleEnvWith(t, true) }

func consoleEnvWith(t *testing.T, login bool) (*env, *bitrixtest.Portal) {
	portal := bitrixtest.NewWithOptions(t, bitrixtest.Options{UserID: 1, FolderID: 11})
	portal.AddUser(7, "Ольга Смирнова", "olga@example.com")
	e := &env{t: t, dir: t.TempDir(), upstream: mailtest.Start(t, false), smarthost: mailtest.Start(t, false)}
	line, err := console.HashLine("olga", "correct horse")
	if err != nil {
		t.Fatal(err)
	}
	users := filepath.Join(e.dir, "console.users")
	os.WriteFile(users, []byte(line+"\n"), 0o600)
	extra := fmt.Sprintf("[bitrix]\nwebhook_url = %q\nresponsible_id = 7\napplication_token = %q\nfolder_id = 11\npoll_interval = \"1h\"\n", portal.WebhookURL(), appToken) +
		fmt.Sprintf("\n[console]\nlisten = \"127.0.0.1:0\"\nusers_file = %q\n\n[auth]\nautoreply = \"off\"\n", users)
	if !login {
		// The explicit opt-out: a loopback console open to local users.
		extra = strings.Replace(extra, fmt.Sprintf("users_file = %q\n", users), "open_loopback = true\n", 1)
	}
	cfg := baseConfig(e.dir, e.upstream.Addr(), e.smarthost.Addr(), extra)
	cfg = strings.Replace(cfg, `retry_initial = "100ms"`, `retry_initial = "10m"`, 1)
	cfg = strings.Replace(cfg, `retry_max = "400ms"`, `retry_max = "30m"`, 1)
	path := filepath.Join(e.dir, "config.toml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	e.startPath(path)
	return e, portal
}

// shots keeps the screenshots: in the test's temp dir, or in
// SUPPORTGATE_SCREENSHOTS (how docs/img's are made).
func shots(t *testing.T) string {
	if d := os.Getenv("SUPPORTGATE_SCREENSHOTS"); d != "" {
		return d
	}
	return t.TempDir()
}

// An operator in a real browser: logs in, sees a just-sent message with
// the reason reply and its task number, opens it and sees its jobs; then
// the upstream fails: the banner names it and the queue shows the
// retrying forward; once the upstream is back, Retry now delivers it,
// once.
func TestConsoleInBrowser(t *testing.T) {
	ctx := consoleBrowser(t)
	e, portal := consoleEnv(t)
	base := "http://" + e.g.ConsoleAddr()
	dir := shots(t)
	step := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, actions...); err != nil {
			t.Fatalf("browser: %s: %v", what, err)
		}
	}
	html := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("browser: reading %s: %v", sel, err)
		}
		return s
	}
	location := func() string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Location())
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	shot := func(name string) chromedp.Action[chromedp.Void] {
		return func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
			png, err := chromedp.FullScreenshot(100)(ctx, tg)
			if err != nil {
				return chromedp.Void{}, err
			}
			t.Logf("screenshot: %s", filepath.Join(dir, name+".png"))
			return chromedp.Void{}, os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644)
		}
	}
	narrow := func(name string) []chromedp.Action[chromedp.Void] {
		return []chromedp.Action[chromedp.Void]{shot(name + "-1024"), chromedp.EmulateViewport(390, 844), shot(name + "-390"), chromedp.EmulateViewport(1024, 800)}
	}

	// Log in (the list sends us to the login form first).
	step("open", chromedp.EmulateViewport(1024, 800), chromedp.Navigate(base+"/messages"))
	if loc := location(); !strings.Contains(loc, "/login") {
		t.Fatalf("not sent to the login form: %s", loc)
	}
	step("login", chromedp.SendKeys(chromedp.CSS(`input[name=name]`), "olga"), chromedp.SendKeys(chromedp.CSS(`input[name=password]`), "correct horse"),
		chromedp.Click(chromedp.CSS(`#login-submit`)), chromedp.WaitVisible(chromedp.CSS(`#messages`)))
	if loc := location(); !strings.HasSuffix(loc, "/messages") {
		t.Fatalf("after the login: %s", loc)
	}

	// A customer writes; the reply goes and the task is made.
	msg := "From: \"Иван Петров\" <ivan@customer.test>\r\nTo: support@example.com\r\nSubject: Printer in accounting\r\nMessage-ID: <console1@customer.test>\r\n\r\nThe printer does not print.\r\n"
	if err := send(t, e.g.SMTPAddr(), "ivan@customer.test", []string{"support@example.com"}, msg); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool {
		return len(portal.Tasks()) == 1 && len(replies(e)) == 1 && len(e.upstream.Messages()) == 1
	}, "task, reply and forward")
	task := portal.Tasks()[0].ID
	// A few more, so the list shows other reasons: a follow-up in the
	// thread, a robot, an out-of-office.
	for _, m := range []struct{ from, text string }{
		{"ivan@customer.test", "From: ivan@customer.test\r\nTo: support@example.com\r\nSubject: Re: Printer in accounting\r\nMessage-ID: <console1b@customer.test>\r\nIn-Reply-To: <console1@customer.test>\r\n\r\nIt blinks red now.\r\n"},
		{"noreply@shop.test", "From: noreply@shop.test\r\nTo: support@example.com\r\nSubject: Your order 5512 has shipped\r\nMessage-ID: <console1c@shop.test>\r\n\r\nTracking inside.\r\n"},
		{"anna@customer.test", "From: Anna <anna@customer.test>\r\nTo: support@example.com\r\nSubject: Automatic reply: Invoice\r\nAuto-Submitted: auto-replied\r\nMessage-ID: <console1d@customer.test>\r\n\r\nI am out of the office.\r\n"},
	} {
		if err := send(t, e.g.SMTPAddr(), m.from, []string{"support@example.com"}, m.text); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, func() bool { return len(e.upstream.Messages()) == 4 && queueEmpty(t, e) }, "the queue idle")
	if n := len(replies(e)); n != 1 {
		t.Fatalf("%d auto-replies, want 1", n)
	}
	step("list", chromedp.Navigate(base+"/messages"))
	list := html(`#messages`)
	for _, want := range []string{`data-reason="reply"`, fmt.Sprintf("#%d", task), "Printer in accounting", "ivan@customer.test", "forwarded: done", "replied: done", "task: done",
		`data-reason="known-thread"`, "comment: done", `data-reason="noreply-sender"`, `data-reason="auto-submitted"`} {
		if !strings.Contains(list, want) {
			t.Errorf("the list lacks %q:\n%s", want, list)
		}
	}
	step("list shots", narrow("list")...)

	// Open it: its jobs, the reply as sent, its headers.
	first, err := e.g.Store.ListHistory(store.HistoryFilter{Subject: "printer", Reason: "reply"}, "", 1)
	if err != nil || len(first.Entries) != 1 {
		t.Fatalf("the first message's record: %v %v", first, err)
	}
	step("message", chromedp.Click(chromedp.CSS(`#messages tr[data-id="`+first.Entries[0].ID+`"] td.subj a`)), chromedp.WaitVisible(chromedp.CSS(`#jobs`)))
	jobs, page := html(`#jobs`), html(`main`)
	for _, kind := range []string{"forward", "process", "task", "autoreply", "send"} {
		if !strings.Contains(jobs, `data-kind="`+kind+`" data-state="done"`) {
			t.Errorf("job %s not shown done:\n%s", kind, jobs)
		}
	}
	if !strings.Contains(page, "console1@customer.test") {
		t.Errorf("the headers are not shown:\n%s", page)
	}
	if !strings.Contains(page, "<iframe") {
		t.Errorf("the auto-reply as sent is not shown")
	}
	step("message shots", narrow("message")...)

	// Its thread: the task, the participants, the mails in and out.
	step("thread", chromedp.Click(chromedp.CSS(`#summary a[href^="/threads/"]`)), chromedp.WaitVisible(chromedp.CSS(`main h1`)))
	thread := html(`main`)
	for _, want := range []string{fmt.Sprintf("#%d", task), "ivan@customer.test", "console1@customer.test", "customer's mail", "auto-reply", "Re: Printer in accounting"} {
		if !strings.Contains(thread, want) {
			t.Errorf("the thread page lacks %q:\n%s", want, thread)
		}
	}

	// The config page hides the webhook's secret.
	step("config", chromedp.Navigate(base+"/config"))
	if cfg := html(`#config`); strings.Contains(cfg, strings.TrimPrefix(portal.WebhookURL(), "http://")) || strings.Contains(cfg, appToken) || !strings.Contains(cfg, "REDACTED") {
		t.Errorf("the config page shows a secret:\n%s", cfg)
	}

	// The upstream fails: the next message's forward retries.
	e.g.Pages.Health.After = 0 // "a few minutes" is too long for a test
	e.upstream.FailMail(mailtest.Temp)
	msg2 := strings.Replace(strings.Replace(msg, "console1@", "console2@", 1), "Printer in accounting", "Scanner too", 1)
	if err := send(t, e.g.SMTPAddr(), "ivan@customer.test", []string{"support@example.com"}, msg2); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool {
		j := jobOf(t, e, "forward")
		return j != nil && j.State == store.Queued && j.LastError != ""
	}, "the forward failing")
	step("queue", chromedp.Navigate(base+"/queue"))
	banner, trouble := html(`#banner-upstream`), html(`#trouble`)
	if !strings.Contains(banner, "upstream") || !strings.Contains(banner, "try later") {
		t.Errorf("banner = %s", banner)
	}
	if !strings.Contains(trouble, `data-kind="forward"`) || !strings.Contains(trouble, "retrying") {
		t.Errorf("the retrying forward is not listed:\n%s", trouble)
	}
	step("queue shot", shot("queue-1024"))

	// Back up: Retry now delivers it, once.
	e.upstream.FailMail(nil)
	step("retry", chromedp.Click(chromedp.CSS(`#trouble tr[data-kind="forward"] button.retry`)), chromedp.WaitVisible(chromedp.CSS(`.flash`)))
	waitFor(t, func() bool { return jobOf(t, e, "forward") == nil }, "the forward done")
	step("charts", chromedp.Navigate(base+"/charts"), chromedp.WaitVisible(chromedp.CSS(`svg rect`)), shot("charts-1024"))
	n := 0
	for _, m := range e.upstream.Messages() {
		if strings.Contains(string(m.Data), "console2@customer.test") {
			n++
		}
	}
	if n != 1 {
		t.Errorf("the retried message reached the upstream %d times, want once", n)
	}
	step("after", chromedp.Navigate(base+"/messages?subject=scanner"))
	if after := html(`#messages`); !strings.Contains(after, "forwarded: done") || strings.Contains(after, "Printer in accounting") {
		t.Errorf("after the retry:\n%s", after)
	}
	banners, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('.banner').length`))
	if err != nil {
		t.Fatal(err)
	}
	if banners != 0 {
		t.Errorf("%d banners after the upstream came back", banners)
	}
}

func jobOf(t *testing.T, e *env, kind string) *store.Job {
	jobs, err := e.g.Store.Jobs()
	if err != nil {
		t.Fatal(err)
	}
	for _, j := range jobs {
		if j.Kind == kind {
			return j
		}
	}
	return nil
}

func queueEmpty(t *testing.T, e *env) bool {
	jobs, err := e.g.Store.Jobs()
	if err != nil {
		t.Fatal(err)
	}
	return len(jobs) == 0
}
