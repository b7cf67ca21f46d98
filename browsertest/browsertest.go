// Package browsertest starts a headless Chromium for tests (Debian's
// chromium, which .ci/run installs): the web form's page and the
// letters' layout are checked in a real browser. Tests that need it are
// skipped, with a note, where it is missing.
package browsertest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Chromium is the browser's path; it skips t when there is none.
func Chromium(t testing.TB) string {
	for _, n := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	t.Skip("chromium not installed (apt-get install chromium; .ci/run does): the browser test is skipped")
	return ""
}

// New starts a headless Chromium with a fresh profile and nothing that
// reaches outside (no updates, no sync, no background fetches), its
// window w×h px.
func New(t testing.TB, w, h int) context.Context {
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(Chromium(t)),
		chromedp.NoSandbox, // root in CI containers
		chromedp.Headless,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.WindowSize(w, h),
		chromedp.Flag("lang", "ru-RU"),
	)
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	ctx, cancel2 := chromedp.NewContext(actx)
	t.Cleanup(cancel2)
	ctx, cancel3 := context.WithTimeout(ctx, 60*time.Second)
	t.Cleanup(cancel3)
	return ctx
}

// Keep writes a screenshot to the test's temp dir (logged), and to
// $SUPPORTGATE_SCREENSHOTS when set, for a person to look at.
func Keep(t testing.TB, name string, png []byte) {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	os.WriteFile(p, png, 0o600)
	t.Logf("screenshot: %s", p)
	if d := os.Getenv("SUPPORTGATE_SCREENSHOTS"); d != "" {
		os.WriteFile(filepath.Join(d, name), png, 0o644)
	}
}
