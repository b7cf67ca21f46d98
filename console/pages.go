package console

import (
	"bytes"
	"context"
	"embed"
	"encoding/base64"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"supportgate/mailparse"
	"supportgate/rules"
	"supportgate/store"
)

// The operator's pages (issue 12): server-rendered, no script at all,
// nothing loaded from elsewhere (CSS and SVG inline), so they work in a
// closed network. They read the store in View transactions, a page at a
// time; the only writes are the operator's Retry and Drop.

//go:embed web/*.html
var webFS embed.FS

var pageTmpl = template.Must(template.New("").Funcs(template.FuncMap{
	"join": strings.Join,
	"short": func(s string) string {
		if len(s) > 8 {
			return s[:8] + "…"
		}
		return s
	},
}).ParseFS(webFS, "web/*.html"))

// Backend is what the pages need from the running gateway.
type Backend struct {
	Store  *store.Store
	Config func() *rules.Config
	// Explain writes the explain of stored message id on the running
	// config (an error when the original is gone).
	Explain func(ctx context.Context, id string, w io.Writer) error
	// Check validates the config file as `supportgate check` does.
	Check func() []string
	// ConfigText is the config in force, secrets redacted.
	ConfigText func() string
	TaskURL    func(id int64) string
	Redact     func(string) string
	// Kick wakes the queue after a Retry.
	Kick func()
}

// Pages serves the operator's web pages on the console listener.
type Pages struct {
	s      *Server
	b      Backend
	Health *Health

	mu       sync.Mutex
	reloadAt time.Time
	reloadOK bool
	reload   string
}

// NoteReload records a config reload's result for the config page.
func (p *Pages) NoteReload(err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.reloadAt, p.reloadOK, p.reload = time.Now(), err == nil, ""
	if err != nil {
		p.reload = err.Error()
	}
}

// AddPages puts the pages beside the API routes.
func (s *Server) AddPages(b Backend) *Pages {
	p := &Pages{s: s, b: b, Health: &Health{After: 3 * time.Minute}}
	if p.b.Redact == nil {
		p.b.Redact = func(s string) string { return s }
	}
	s.mux.HandleFunc("GET /login", p.loginForm)
	s.mux.HandleFunc("POST /login", p.login)
	s.mux.Handle("POST /logout", p.page(p.logout))
	s.mux.Handle("GET /{$}", p.page(func(w http.ResponseWriter, r *http.Request, v *view) {
		http.Redirect(w, r, "/messages", http.StatusSeeOther)
	}))
	s.mux.Handle("GET /messages", p.page(p.messages))
	s.mux.Handle("GET /messages/{id}", p.page(p.message))
	s.mux.Handle("GET /messages/{id}/eml", p.page(p.eml))
	s.mux.Handle("GET /messages/{id}/reply.eml", p.page(p.replyEml))
	s.mux.Handle("GET /threads/{id}", p.page(p.thread))
	s.mux.Handle("GET /queue", p.page(p.queue))
	s.mux.Handle("POST /queue/retry", p.page(p.retry))
	s.mux.Handle("GET /queue/drop", p.page(p.dropAsk))
	s.mux.Handle("POST /queue/drop", p.page(p.drop))
	s.mux.Handle("GET /charts", p.page(p.charts))
	s.mux.Handle("GET /config", p.page(p.config))
	s.mux.Handle("POST /config/check", p.page(p.check))
	return p
}

// view is what every template gets.
type view struct {
	Lang   string
	User   string // "" with no login (loopback without a users file)
	CSRF   string
	Nav    string
	Banner []Failing
	Flash  string
	Data   any
	p      *Pages
}

// T translates a catalogue key; with arguments it is a format.
func (v *view) T(key string, a ...any) string {
	s := tr(v.Lang, key)
	if len(a) > 0 {
		return fmt.Sprintf(s, a...)
	}
	return s
}

// Reason is a reason code in words.
func (v *view) Reason(code string) string { return reasonText(v.Lang, code) }

// State is a job state in words.
func (v *view) State(s string) string { return v.T("state." + s) }

// Time formats a time for the table (local time of the gateway).
func (v *view) Time(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.Local().Format("2006-01-02 15:04:05")
}

// ShortTime is t for a narrow column: the time alone today, else the
// day and the minute.
func (v *view) ShortTime(t time.Time) string {
	t = t.Local()
	if y, m, d := time.Now().Date(); t.Year() == y && t.Month() == m && t.Day() == d {
		return t.Format("15:04:05")
	}
	return t.Format("02.01 15:04")
}

// Ago is how long ago t was, coarsely.
func (v *view) Ago(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return shortDuration(time.Since(t))
}

// TaskURL links a task in the portal ("" when it cannot be built).
func (v *view) TaskURL(id int64) string {
	if v.p.b.TaskURL == nil || id == 0 {
		return ""
	}
	return v.p.b.TaskURL(id)
}

// Redact hides secrets in an error text.
func (v *view) Redact(s string) string { return v.p.b.Redact(s) }

// badge is one job of a message in the list.
type badge struct{ Label, State string }

// Badges are the states of a message's jobs as the list shows them:
// forwarded, replied (the auto-reply and its sending), task, comment.
func (v *view) Badges(e *store.Entry) []badge {
	var out []badge
	for _, k := range []struct{ label, kinds string }{
		{"job.forward", "forward"}, {"job.replied", "send autoreply"}, {"job.task", "task"}, {"job.comment", "comment"},
	} {
		for _, kind := range strings.Fields(k.kinds) {
			if s := e.StateOf(kind); s != "" {
				out = append(out, badge{k.label, s})
				break
			}
		}
	}
	return out
}

// Peer names a peer for the banner.
func (v *view) Peer(p string) string { return v.T("peer." + p) }

func shortDuration(d time.Duration) string {
	switch {
	case d < time.Minute:
		return strconv.Itoa(int(d.Seconds())) + "s"
	case d < time.Hour:
		return strconv.Itoa(int(d.Minutes())) + "m"
	case d < 48*time.Hour:
		return strconv.Itoa(int(d.Hours())) + "h"
	}
	return strconv.Itoa(int(d.Hours()/24)) + "d"
}

// page wraps a handler with the login, the CSRF check on POST and the
// common view.
func (p *Pages) page(h func(http.ResponseWriter, *http.Request, *view)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		securityHeaders(w)
		v := &view{Lang: lang(r.Header.Get("Accept-Language")), p: p}
		p.s.mu.Lock()
		users := p.s.auth
		p.s.mu.Unlock()
		var ss *session
		if c, err := r.Cookie(sessionCookie); err == nil {
			ss = p.s.sessions.get(c.Value)
		}
		if users == nil {
			v.CSRF = p.csrfCookie(w, r)
		} else if ss != nil {
			v.User, v.CSRF = ss.user, ss.csrf
		}
		if r.Method == http.MethodPost {
			r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
			if !sameToken(r.PostFormValue("csrf"), v.CSRF) {
				http.Error(w, "missing or wrong CSRF token: reload the page and try again", http.StatusForbidden)
				return
			}
		}
		if users != nil && ss == nil {
			http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return
		}
		v.Banner = p.Health.Failing()
		h(w, r, v)
	})
}

func securityHeaders(w http.ResponseWriter) {
	h := w.Header()
	// Nothing from outside, no script; the auto-reply is shown in a
	// sandboxed frame.
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src data: cid:; frame-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
}

// csrfCookie is the token of a visitor without a session: a random
// cookie, repeated in each form (double submit).
func (p *Pages) csrfCookie(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(csrfCookie); err == nil && len(c.Value) >= 20 {
		return c.Value
	}
	t := newToken()
	http.SetCookie(w, p.cookie(r, csrfCookie, t, 0))
	r.AddCookie(&http.Cookie{Name: csrfCookie, Value: t})
	return t
}

func (p *Pages) cookie(r *http.Request, name, value string, maxAge int) *http.Cookie {
	return &http.Cookie{Name: name, Value: value, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode,
		Secure: r.TLS != nil || p.secureCookies(), MaxAge: maxAge}
}

func (p *Pages) secureCookies() bool { return p.b.Config != nil && p.b.Config().Console.SecureCookies }

func (p *Pages) render(w http.ResponseWriter, code int, name string, v *view) {
	var buf bytes.Buffer
	if err := pageTmpl.ExecuteTemplate(&buf, name, v); err != nil {
		p.s.log.Error("console page", "page", name, "err", err)
		http.Error(w, "page error: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(code)
	w.Write(buf.Bytes())
}

// ---- login

type loginData struct {
	Next  string
	Error string
	Name  string
}

func (p *Pages) loginForm(w http.ResponseWriter, r *http.Request) {
	securityHeaders(w)
	v := &view{Lang: lang(r.Header.Get("Accept-Language")), p: p}
	v.CSRF, v.Nav = p.csrfCookie(w, r), "login"
	v.Data = loginData{Next: safeNext(r.URL.Query().Get("next"))}
	p.render(w, http.StatusOK, "login", v)
}

// safeNext keeps a redirect after the login on this site.
func safeNext(n string) string {
	if !strings.HasPrefix(n, "/") || strings.HasPrefix(n, "//") || strings.Contains(n, "\\") {
		return "/messages"
	}
	return n
}

func (p *Pages) login(w http.ResponseWriter, r *http.Request) {
	securityHeaders(w)
	v := &view{Lang: lang(r.Header.Get("Accept-Language")), p: p, Nav: "login"}
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	form := r.PostFormValue("csrf")
	v.CSRF = p.csrfCookie(w, r)
	if !sameToken(form, v.CSRF) {
		http.Error(w, "missing or wrong CSRF token: reload the login page and try again", http.StatusForbidden)
		return
	}
	name, pass := r.PostFormValue("name"), r.PostFormValue("password")
	d := loginData{Next: safeNext(r.PostFormValue("next")), Name: name}
	p.s.mu.Lock()
	users := p.s.auth
	p.s.mu.Unlock()
	if users == nil {
		http.Redirect(w, r, d.Next, http.StatusSeeOther)
		return
	}
	keys := []string{"ip:" + clientIP(r), "user:" + strings.ToLower(name)}
	if wait := p.s.throttle.wait(keys...); wait > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds())+1))
		d.Error = v.T("login.wait", shortDuration(wait+time.Second))
		v.Data = d
		p.render(w, http.StatusTooManyRequests, "login", v)
		return
	}
	if !users.Check(name, pass) {
		p.s.throttle.failed(keys...)
		p.s.log.Warn("console: login refused", "user", name, "client", r.RemoteAddr)
		d.Error = v.T("login.wrong")
		v.Data = d
		p.render(w, http.StatusUnauthorized, "login", v)
		return
	}
	p.s.throttle.succeeded(keys...)
	id, _ := p.s.sessions.create(name)
	http.SetCookie(w, p.cookie(r, sessionCookie, id, int(sessionTTL.Seconds())))
	p.s.log.Info("console: login", "user", name, "client", r.RemoteAddr)
	http.Redirect(w, r, d.Next, http.StatusSeeOther)
}

func (p *Pages) logout(w http.ResponseWriter, r *http.Request, v *view) {
	if c, err := r.Cookie(sessionCookie); err == nil {
		p.s.sessions.drop(c.Value)
	}
	http.SetCookie(w, p.cookie(r, sessionCookie, "", -1))
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// ---- messages

// Filter is the message list's query as the form holds it.
type Filter struct {
	Address, Reason, State, Since, Until, Subject string
	Before                                        string
	N                                             int
}

// States the filter offers.
var filterStates = []string{"pending", "retrying", "held", "failed", "done"}

// ParseFilter reads the list's query. Bad values are dropped with a
// problem each (the page says so) rather than failing the page.
func ParseFilter(q url.Values) (Filter, store.HistoryFilter, []string) {
	var probs []string
	f := Filter{Address: strings.TrimSpace(q.Get("address")), Reason: q.Get("reason"), State: q.Get("state"),
		Since: q.Get("since"), Until: q.Get("until"), Subject: strings.TrimSpace(q.Get("subject")), Before: q.Get("before")}
	if len(f.Address) > 200 {
		f.Address = f.Address[:200]
	}
	if len(f.Subject) > 200 {
		f.Subject = f.Subject[:200]
	}
	if len(f.Before) > 64 {
		f.Before, probs = "", append(probs, "before: not a cursor")
	}
	if n := q.Get("n"); n != "" {
		v, err := strconv.Atoi(n)
		if err != nil {
			probs = append(probs, "n: not a number")
		}
		f.N = v
	}
	f.N = store.PageSize(f.N)
	if f.Reason != "" {
		if _, ok := reasonWords[f.Reason]; !ok {
			probs, f.Reason = append(probs, "reason: unknown code "+strconv.Quote(f.Reason)), ""
		}
	}
	if f.State != "" {
		ok := false
		for _, s := range filterStates {
			ok = ok || s == f.State
		}
		if !ok {
			probs, f.State = append(probs, "state: unknown "+strconv.Quote(f.State)), ""
		}
	}
	hf := store.HistoryFilter{Address: f.Address, Reason: f.Reason, State: f.State, Subject: f.Subject}
	day := func(key string, s *string) time.Time {
		if *s == "" {
			return time.Time{}
		}
		t, err := time.ParseInLocation("2006-01-02", *s, time.Local)
		if err != nil {
			probs, *s = append(probs, key+": want YYYY-MM-DD"), ""
			return time.Time{}
		}
		return t
	}
	hf.Since = day("since", &f.Since)
	if u := day("until", &f.Until); !u.IsZero() {
		hf.Until = u.AddDate(0, 0, 1) // the whole day
	}
	return f, hf, probs
}

// Query is the filter as a query string, with the cursor before.
func (f Filter) Query(before string) template.URL {
	q := url.Values{}
	for k, v := range map[string]string{"address": f.Address, "reason": f.Reason, "state": f.State,
		"since": f.Since, "until": f.Until, "subject": f.Subject, "before": before} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if f.N != store.DefaultPage {
		q.Set("n", strconv.Itoa(f.N))
	}
	return template.URL(q.Encode())
}

type listData struct {
	F        Filter
	Page     *store.HistoryPage
	Problems []string
	Reasons  []string
	States   []string
}

func (p *Pages) messages(w http.ResponseWriter, r *http.Request, v *view) {
	f, hf, probs := ParseFilter(r.URL.Query())
	page, err := p.b.Store.ListHistory(hf, f.Before, f.N)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	var reasons []string
	for _, ri := range rules.Reasons {
		reasons = append(reasons, ri.Code)
	}
	v.Nav = "messages"
	v.Data = listData{F: f, Page: page, Problems: probs, Reasons: reasons, States: filterStates}
	p.render(w, http.StatusOK, "messages", v)
}

type messageData struct {
	E         *store.Entry
	Explain   string
	Reply     *sentReply
	HeaderTxt string
}

type sentReply struct {
	Subject, To, HTML, Text string
}

func (p *Pages) message(w http.ResponseWriter, r *http.Request, v *view) {
	id := r.PathValue("id")
	e, err := p.b.Store.GetEntry(id)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	v.Nav = "messages"
	if e == nil {
		v.Flash = v.T("msg.notfound")
		p.render(w, http.StatusNotFound, "notfound", v)
		return
	}
	d := messageData{E: e, HeaderTxt: e.Header}
	if p.b.Explain != nil && (e.Kept || e.Header != "") {
		var buf bytes.Buffer
		ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
		if err := p.b.Explain(ctx, id, &buf); err != nil {
			fmt.Fprintf(&buf, "error: %v\n", err)
		}
		cancel()
		d.Explain = p.b.Redact(buf.String())
	}
	if raw, err := p.b.Store.SentReply(id); err == nil && raw != nil {
		d.Reply = &sentReply{}
		if pm, _ := mailparse.Parse(bytes.NewReader(raw), mailparse.Limits{MaxTotalBytes: 1 << 20}); pm != nil {
			d.Reply.Subject, d.Reply.HTML, d.Reply.Text = pm.Subject, inlineImages(pm), pm.Text
			d.Reply.To = mailparse.DecodeHeader(pm.Header.Get("To"))
		}
	}
	v.Data = d
	p.render(w, http.StatusOK, "message", v)
}

// inlineImages points the reply's cid: images (the logo) at data: URIs,
// so the frame shows what the customer saw without fetching anything.
func inlineImages(pm *mailparse.Message) string {
	h := pm.HTML
	for _, a := range pm.Attachments {
		if a.ContentID == "" || a.Data == nil || !strings.HasPrefix(a.ContentType, "image/") || len(a.Data) > 256<<10 {
			continue
		}
		h = strings.ReplaceAll(h, "cid:"+a.ContentID, "data:"+a.ContentType+";base64,"+base64.StdEncoding.EncodeToString(a.Data))
	}
	return h
}

func (p *Pages) eml(w http.ResponseWriter, r *http.Request, v *view) {
	id := r.PathValue("id")
	if e, _ := p.b.Store.GetEntry(id); e == nil || !e.Kept {
		http.Error(w, tr(v.Lang, "msg.gone"), http.StatusNotFound)
		return
	}
	body, err := p.b.Store.OpenBody(id)
	if err != nil {
		http.Error(w, tr(v.Lang, "msg.gone"), http.StatusNotFound)
		return
	}
	defer body.Close()
	w.Header().Set("Content-Type", "message/rfc822")
	w.Header().Set("Content-Disposition", `attachment; filename="`+safeName(id)+`.eml"`)
	io.Copy(w, body)
}

func (p *Pages) replyEml(w http.ResponseWriter, r *http.Request, v *view) {
	id := r.PathValue("id")
	raw, err := p.b.Store.SentReply(id)
	if err != nil || raw == nil {
		http.Error(w, tr(v.Lang, "msg.noreply"), http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "message/rfc822")
	w.Header().Set("Content-Disposition", `attachment; filename="`+safeName(id)+`-reply.eml"`)
	w.Write(raw)
}

func safeName(id string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r >= 'A' && r <= 'Z' {
			return r
		}
		return '_'
	}, id)
}

func (p *Pages) thread(w http.ResponseWriter, r *http.Request, v *view) {
	tv, err := p.b.Store.GetThreadView(r.PathValue("id"))
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	v.Nav = "messages"
	if tv == nil {
		v.Flash = v.T("msg.notfound")
		p.render(w, http.StatusNotFound, "notfound", v)
		return
	}
	v.Data = tv
	p.render(w, http.StatusOK, "thread", v)
}

// ---- queue

type queueData struct {
	Kinds   []kindRow
	Trouble []troubleJob
	Ask     *troubleJob
}

// kindRow is a kind's queue with its jobs failed for good lately.
type kindRow struct {
	store.KindStats
	Failed int
}

type troubleJob struct {
	*store.Job
	Record string // the history record to link ("" when none)
}

func (p *Pages) queue(w http.ResponseWriter, r *http.Request, v *view) {
	kinds, trouble, err := p.b.Store.QueueStats(1, 200)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	d := queueData{}
	failed := p.Health.FailedRecently()
	for _, k := range kinds {
		d.Kinds = append(d.Kinds, kindRow{KindStats: k, Failed: failed[k.Kind]})
		delete(failed, k.Kind)
	}
	for k, n := range failed { // failed lately, nothing queued now
		d.Kinds = append(d.Kinds, kindRow{KindStats: store.KindStats{Kind: k}, Failed: n})
	}
	sort.Slice(d.Kinds, func(i, k int) bool { return d.Kinds[i].Kind < d.Kinds[k].Kind })
	for _, j := range trouble {
		d.Trouble = append(d.Trouble, troubleJob{Job: j, Record: p.b.Store.HistoryOf(j.MsgID)})
	}
	v.Nav = "queue"
	v.Flash = r.URL.Query().Get("flash")
	if len(v.Flash) > 200 {
		v.Flash = ""
	}
	v.Data = d
	p.render(w, http.StatusOK, "queue", v)
}

func jobID(s string) (uint64, bool) {
	n, err := strconv.ParseUint(s, 10, 64)
	return n, err == nil && n > 0
}

func (p *Pages) who(v *view, r *http.Request) string {
	if v.User != "" {
		return v.User
	}
	return "local@" + clientIP(r)
}

func (p *Pages) retry(w http.ResponseWriter, r *http.Request, v *view) {
	id, ok := jobID(r.PostFormValue("job"))
	if !ok {
		http.Error(w, "job: not a job id", http.StatusBadRequest)
		return
	}
	j, err := p.b.Store.RetryNow(id)
	if err != nil {
		http.Error(w, err.Error(), http.StatusConflict)
		return
	}
	p.s.log.Info("console: job retried now", "job", id, "kind", j.Kind, "queue_id", j.MsgID, "by", p.who(v, r))
	if p.b.Kick != nil {
		p.b.Kick()
	}
	http.Redirect(w, r, "/queue?flash="+url.QueryEscape(v.T("q.retried", strconv.FormatUint(id, 10))), http.StatusSeeOther)
}

func (p *Pages) dropAsk(w http.ResponseWriter, r *http.Request, v *view) {
	id, ok := jobID(r.URL.Query().Get("job"))
	if !ok {
		http.Error(w, "job: not a job id", http.StatusBadRequest)
		return
	}
	jobs, err := p.b.Store.Jobs()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	v.Nav = "queue"
	for _, j := range jobs {
		if j.ID == id {
			v.Data = queueData{Ask: &troubleJob{Job: j, Record: p.b.Store.HistoryOf(j.MsgID)}}
			p.render(w, http.StatusOK, "drop", v)
			return
		}
	}
	http.Error(w, store.ErrNoJob.Error(), http.StatusNotFound)
}

func (p *Pages) drop(w http.ResponseWriter, r *http.Request, v *view) {
	id, ok := jobID(r.PostFormValue("job"))
	if !ok {
		http.Error(w, "job: not a job id", http.StatusBadRequest)
		return
	}
	who := p.who(v, r)
	j, err := p.b.Store.DropJob(id, who)
	if err != nil {
		http.Error(w, err.Error(), http.StatusConflict)
		return
	}
	p.s.log.Warn("console: job dropped", "job", id, "kind", j.Kind, "queue_id", j.MsgID, "attempts", j.Attempts,
		"last_error", p.b.Redact(j.LastError), "by", who)
	http.Redirect(w, r, "/queue?flash="+url.QueryEscape(v.T("q.dropped", strconv.FormatUint(id, 10))), http.StatusSeeOther)
}

// ---- charts and config

type chartsData struct{ PerHour, Latency template.HTML }

func (p *Pages) charts(w http.ResponseWriter, r *http.Request, v *view) {
	s, err := p.b.Store.HourlySeries(time.Now(), 7*24)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	v.Nav = "charts"
	v.Data = chartsData{PerHour: perHourSVG(s, v), Latency: latencySVG(s, v)}
	p.render(w, http.StatusOK, "charts", v)
}

type configData struct {
	Text       string
	ReloadAt   time.Time
	ReloadOK   bool
	ReloadErr  string
	Checked    bool
	Problems   []string
	ConfigPath string
}

func (p *Pages) configData() configData {
	d := configData{}
	if p.b.ConfigText != nil {
		d.Text = p.b.ConfigText()
	}
	p.mu.Lock()
	d.ReloadAt, d.ReloadOK, d.ReloadErr = p.reloadAt, p.reloadOK, p.b.Redact(p.reload)
	p.mu.Unlock()
	if p.b.Config != nil {
		d.ConfigPath = p.b.Config().Path
	}
	return d
}

func (p *Pages) config(w http.ResponseWriter, r *http.Request, v *view) {
	v.Nav = "config"
	v.Data = p.configData()
	p.render(w, http.StatusOK, "config", v)
}

func (p *Pages) check(w http.ResponseWriter, r *http.Request, v *view) {
	d := p.configData()
	d.Checked = true
	if p.b.Check != nil {
		for _, s := range p.b.Check() {
			d.Problems = append(d.Problems, p.b.Redact(s))
		}
	}
	v.Nav = "config"
	v.Data = d
	p.render(w, http.StatusOK, "config", v)
}
