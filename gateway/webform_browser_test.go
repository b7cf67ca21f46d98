package gateway

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"supportgate/browsertest"
)

// browser starts a headless Chromium at a phone's width (the shared
// helper, browsertest; skipped with a note when chromium is missing).
func browser(t *testing.T) context.Context { return browsertest.New(t, 390, 844) }

// A person fills the form in Russian in a real browser at a phone's width,
// attaches a file with a Cyrillic name and sends it: the thank-you page
// names the request; the portal has one task with the file and the
// channel's fields; the mailbox has the forwarded copy; the person one
// acknowledgement.
func TestWebformInBrowser(t *testing.T) {
	ctx := browser(t)
	e, portal := newWebformEnv(t, "", "")
	dir := t.TempDir()
	file := filepath.Join(dir, "Акт осмотра №5.pdf")
	data := []byte("%PDF-1.4 акт осмотра кровли \x00\x01\x02")
	if err := os.WriteFile(file, data, 0o600); err != nil {
		t.Fatal(err)
	}
	step := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("browser: %s: %v", what, err)
		}
	}
	// The page must work without JavaScript: the page's own scripts are
	// switched off (the DevTools protocol still drives the browser).
	noJS := func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
		_, err := cdp.Call(ctx, tg, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true})
		return chromedp.Void{}, err
	}
	step("fill", chromedp.Do(ctx,
		noJS,
		chromedp.EmulateViewport(390, 844),
		chromedp.Navigate("http://"+e.g.HTTPAddr()+"/form"),
		chromedp.WaitVisible(chromedp.CSS("#name")),
		// First without the consent: the form comes back with the
		// error next to the box and the input kept.
		chromedp.SendKeys(chromedp.CSS("#name"), "Мария Иванова"),
		chromedp.SendKeys(chromedp.CSS("#email"), "maria@resident.test"),
		chromedp.SendKeys(chromedp.CSS("#phone"), "+7 900 123-45-67"),
		chromedp.SendKeys(chromedp.CSS("#subject"), "Протечка крыши"),
		chromedp.SendKeys(chromedp.CSS("#text"), "Здравствуйте! Над квартирой 57 течёт крыша, фото и акт во вложении."),
		chromedp.SetUploadFiles(chromedp.CSS("#files"), []string{file}),
	))
	formShot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	step("screenshot", err)
	step("submit without consent", chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS("button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("#consent-err")),
	))
	errText, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#consent-err")))
	step("consent error", err)
	kept, err := chromedp.Run(ctx, chromedp.Value(chromedp.CSS("#subject")))
	step("kept input", err)
	if kept != "Протечка крыши" {
		t.Errorf("input not kept after the error: subject %q", kept)
	}
	step("attach", chromedp.Do(ctx,
		chromedp.SetUploadFiles(chromedp.CSS("#files"), []string{file}),
		chromedp.Click(chromedp.CSS("#consent")),
	))
	errShot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	step("screenshot", err)
	step("submit", chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS("button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("#request-id")),
	))
	id, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#request-id")))
	step("request number", err)
	doneShot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	step("screenshot", err)
	if !strings.Contains(errText, "согласия на обработку") {
		t.Errorf("consent error = %q", errText)
	}
	for name, b := range map[string][]byte{"form.png": formShot, "error.png": errShot, "thanks.png": doneShot} {
		if !bytes.HasPrefix(b, []byte("\x89PNG")) {
			t.Errorf("%s is not a PNG", name)
		}
		p := filepath.Join(t.TempDir(), name)
		os.WriteFile(p, b, 0o600)
		t.Logf("screenshot: %s", p)
		if d := os.Getenv("SUPPORTGATE_SCREENSHOTS"); d != "" { // for a person to look at
			os.WriteFile(filepath.Join(d, name), b, 0o644)
		}
	}
	if strings.TrimSpace(id) == "" {
		t.Fatal("no request number on the thank-you page")
	}

	waitFor(t, func() bool { return len(portal.Tasks()) == 1 }, "task")
	task := portal.Tasks()[0]
	waitFor(t, func() bool { task, _ = portal.Task(task.ID); return len(task.Files) >= 1 }, "files linked")
	ok := false
	for _, fid := range task.Files {
		if f, found := portal.FileInfo(fid); found && f.Name == "Акт осмотра №5.pdf" && bytes.Equal(f.Data, data) {
			ok = true
		}
	}
	if !ok {
		t.Errorf("file with the Cyrillic name not on the task intact (files %v)", task.Files)
	}
	if task.Title != "Протечка крыши" || !strings.Contains(strings.Join(task.Tags, "|"), "Тип отправления: ЛК жителя") ||
		!strings.Contains(strings.Join(task.Tags, "|"), "Тип отправителя: Физическое лицо") || !strings.Contains(task.Description, "+7 900 123-45-67") {
		t.Errorf("task: %q tags %q\n%s", task.Title, task.Tags, task.Description)
	}
	fwd := e.upstream.Wait(1, 10*time.Second)
	if len(fwd) != 1 || !bytes.Contains(fwd[0].Data, []byte("X-Supportgate-Channel: web")) || !strings.Contains(string(fwd[0].Data), "web-form") {
		t.Fatalf("forwarded copies: %d", len(fwd))
	}
	waitFor(t, func() bool { return len(replies(e)) == 1 }, "acknowledgement")
	if r := replies(e)[0]; r.Rcpts[0] != "maria@resident.test" {
		t.Errorf("acknowledgement to %v", r.Rcpts)
	}
	waitFor(t, queueIdle(t, e), "queue idle")
	if len(portal.Tasks()) != 1 || len(e.upstream.Messages()) != 1 || len(replies(e)) != 1 {
		t.Errorf("tasks %d, forwards %d, replies %d: want one of each", len(portal.Tasks()), len(e.upstream.Messages()), len(replies(e)))
	}
}
