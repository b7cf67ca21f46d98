package console

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"supportgate/store"
)

func TestParseFilter(t *testing.T) {
	day := func(s string) time.Time { d, _ := time.ParseInLocation("2006-01-02", s, time.Local); return d }
	for _, c := range []struct {
		name  string
		query string
		want  store.HistoryFilter
		n     int
		probs int
	}{
		{"empty", "", store.HistoryFilter{}, store.DefaultPage, 0},
		{"address and subject trimmed", "address=+ivan@+&subject=+printer+", store.HistoryFilter{Address: "ivan@", Subject: "printer"}, store.DefaultPage, 0},
		{"a known reason", "reason=noreply-sender", store.HistoryFilter{Reason: "noreply-sender"}, store.DefaultPage, 0},
		{"an unknown reason is dropped, said", "reason=nonsense", store.HistoryFilter{}, store.DefaultPage, 1},
		{"a state", "state=retrying", store.HistoryFilter{State: "retrying"}, store.DefaultPage, 0},
		{"an unknown state", "state=stuck", store.HistoryFilter{}, store.DefaultPage, 1},
		{"dates: until is the whole day", "since=2026-11-20&until=2026-11-21", store.HistoryFilter{Since: day("2026-11-20"), Until: day("2026-11-22")}, store.DefaultPage, 0},
		{"a bad date", "since=20.11.2026", store.HistoryFilter{}, store.DefaultPage, 1},
		{"page size", "n=20", store.HistoryFilter{}, 20, 0},
		{"page size too big", "n=100000", store.HistoryFilter{}, store.MaxPage, 0},
		{"page size zero", "n=0", store.HistoryFilter{}, store.DefaultPage, 0},
		{"page size negative", "n=-3", store.HistoryFilter{}, store.DefaultPage, 0},
		{"page size not a number", "n=all", store.HistoryFilter{}, store.DefaultPage, 1},
		{"a long cursor", "before=" + strings.Repeat("x", 100), store.HistoryFilter{}, store.DefaultPage, 1},
		{"a long address is cut", "address=" + strings.Repeat("a", 300), store.HistoryFilter{Address: strings.Repeat("a", 200)}, store.DefaultPage, 0},
	} {
		q, _ := url.ParseQuery(c.query)
		f, hf, probs := ParseFilter(q)
		if hf != c.want || f.N != c.n || len(probs) != c.probs {
			t.Errorf("%s: %+v n=%d problems %v; want %+v n=%d %d problems", c.name, hf, f.N, probs, c.want, c.n, c.probs)
		}
		// The query string round-trips (the pager's links keep the filter).
		q2, _ := url.ParseQuery(string(f.Query(f.Before)))
		f2, hf2, _ := ParseFilter(q2)
		if hf2 != hf || f2.N != f.N {
			t.Errorf("%s: the pager's query %q reads back as %+v", c.name, f.Query(f.Before), hf2)
		}
	}
}

func TestLang(t *testing.T) {
	for in, want := range map[string]string{
		"":                           "en",
		"ru-RU,ru;q=0.9,en;q=0.8":    "ru",
		"en-US,en;q=0.9,ru;q=0.8":    "en",
		"de-DE,ru;q=0.5":             "ru",
		"de, fr":                     "en",
		"en;q=0.3, ru;q=0.7":         "ru",
		"RU":                         "ru",
		"ru;q=bogus,en;q=0.1":        "ru",
		"zh-CN,zh;q=0.9,en-GB;q=0.1": "en",
	} {
		if got := lang(in); got != want {
			t.Errorf("lang(%q) = %s, want %s", in, got, want)
		}
	}
	// Every reason code has words in both languages.
	for code, w := range reasonWords {
		if w[0] == "" || w[1] == "" {
			t.Errorf("reason %s lacks a translation", code)
		}
	}
	for key, m := range catalogue {
		if m[0] == "" || m[1] == "" {
			t.Errorf("message %s lacks a translation", key)
		}
	}
}

func TestThrottle(t *testing.T) {
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	th := &throttle{now: func() time.Time { return now }}
	for i := 0; i < freeTries-1; i++ {
		th.failed("ip:1", "user:olga")
		if th.wait("ip:1") != 0 {
			t.Fatalf("locked after %d failures", i+1)
		}
	}
	th.failed("ip:1", "user:olga")
	if w := th.wait("ip:2", "user:olga"); w != firstLock {
		t.Fatalf("after %d failures another IP waits %v for the same user, want %v", freeTries, w, firstLock)
	}
	now = now.Add(firstLock)
	if th.wait("ip:1") != 0 {
		t.Fatal("still locked after the window")
	}
	th.failed("ip:1")
	if w := th.wait("ip:1"); w != 2*firstLock {
		t.Errorf("the next failure locks %v, want twice the first window", w)
	}
	for i := 0; i < 20; i++ {
		th.failed("ip:1")
	}
	if w := th.wait("ip:1"); w != maxLock {
		t.Errorf("the lock grows to %v, want at most %v", w, maxLock)
	}
	th.succeeded("ip:1")
	if th.wait("ip:1") != 0 {
		t.Error("a good login does not clear its key")
	}
}

func TestPercentile(t *testing.T) {
	vals := []float64{5, 1, 4, 2, 3, 10, 9, 8, 7, 6}
	for _, c := range []struct{ p, want float64 }{{50, 5}, {99, 10}, {10, 1}, {0, 1}} {
		if got := Percentile(vals, c.p); got != c.want {
			t.Errorf("p%v = %v, want %v", c.p, got, c.want)
		}
	}
	if Percentile(nil, 50) != 0 {
		t.Error("empty")
	}
}

func TestSafeNext(t *testing.T) {
	for in, want := range map[string]string{"/queue": "/queue", "//evil.test/": "/messages", "https://evil.test": "/messages", "": "/messages", "/\\evil": "/messages"} {
		if got := safeNext(in); got != want {
			t.Errorf("safeNext(%q) = %q", in, got)
		}
	}
}

func TestHealth(t *testing.T) {
	h := &Health{}
	h.Observe("forward", "retry", "451 try later")
	h.Observe("task", "retry", "QUERY_LIMIT_EXCEEDED")
	h.Observe("process", "failed", "parse: no message")
	h.Observe("forward", "failed", "gave up")
	f := h.Failing()
	if len(f) != 2 || f[0].Peer != "portal" || f[1].Peer != "upstream" || f[1].LastError != "gave up" {
		t.Fatalf("failing: %+v", f)
	}
	h.Observe("comment", "done", "")
	h.Observe("send", "retry", "")
	if f := h.Failing(); len(f) != 2 || f[0].Peer != "smarthost" || f[1].Peer != "upstream" {
		t.Errorf("after a portal success and a smarthost failure: %+v", f)
	}
	h.After = time.Hour
	if f := h.Failing(); len(f) != 0 {
		t.Errorf("failing for less than After: %+v", f)
	}
	if got := h.FailedRecently(); got["process"] != 1 || got["forward"] != 1 || len(got) != 2 {
		t.Errorf("failed lately: %v", got)
	}
}
