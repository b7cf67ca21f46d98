// Package webform is the second channel (docs/CONTRACT.md, "[webform]"):
// the page a person types an appeal into, POST /intake for other
// systems, and the turning of an appeal into an RFC 5322 message that is
// then accepted exactly as SMTP's DATA accepts one (relay.Server.Submit):
// spooled, fsynced, committed with its first jobs, and only then
// answered. From there it is a mail like any other: forward, decision,
// acknowledgement, task, notifications, thread.
package webform

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"net"
	"net/http"
	"net/mail"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"supportgate/compose"
	"supportgate/metrics"
	"supportgate/relay"
	"supportgate/rules"
	"supportgate/store"
)

// Submissions counts appeals of the web channel by the way they came
// (via: page, api) and result (accepted, duplicate, invalid, csrf, robot,
// too_fast, captcha, too_big, rate_limited, unauthorized, queue_full,
// error). The SMTP counters stay as they were; this is the web's.
var Submissions = prometheus.NewCounterVec(prometheus.CounterOpts{
	Name: "supportgate_webform_submissions_total",
	Help: "Web-form page posts and POST /intake calls, by result.",
}, []string{"channel", "via", "result"})

func init() { metrics.Registry.MustRegister(Submissions) }

// Submitter is relay.Server.Submit: the durable accept.
type Submitter func(m *store.Message, helo, proto string, body []byte) error

// Handler serves the page and the API.
type Handler struct {
	cfg    *rules.Holder
	submit Submitter
	log    *slog.Logger
	key    []byte
	perIP  *window
	once   *once
	client *http.Client

	mu   sync.Mutex
	page *pageTemplate
	from string // the template file the page came from
}

// New makes the handler; the signing key is kept in the store so forms
// served before a restart still post after it.
func New(cfg *rules.Holder, st *store.Store, submit Submitter, log *slog.Logger) (*Handler, error) {
	key, err := loadKey(st)
	if err != nil {
		return nil, err
	}
	h := &Handler{cfg: cfg, submit: submit, log: log.With("channel", "web"), key: key,
		perIP: newWindow(), once: newOnce(), client: &http.Client{Timeout: 5 * time.Second}}
	if err := h.Reload(cfg.Get()); err != nil {
		return nil, err
	}
	return h, nil
}

// Reload parses the page template of c; on error the old page stays and
// the error names the key.
func (h *Handler) Reload(c *rules.Config) error {
	if !c.Webform.Enabled {
		return nil
	}
	p, err := loadPage(c.Webform.Template)
	if err != nil {
		return &rules.KeyError{Key: "webform.template", Msg: err.Error()}
	}
	h.mu.Lock()
	h.page, h.from = p, c.Webform.Template
	h.mu.Unlock()
	return nil
}

// Routes adds the page and /intake to mux. They answer 404 while
// [webform] enabled is false, so a reload can switch them on or off; the
// path itself takes a restart.
func (h *Handler) Routes(mux *http.ServeMux) {
	p := h.cfg.Get().Webform.Path
	mux.HandleFunc("GET "+p, h.enabled(h.servePage))
	mux.HandleFunc("POST "+p, h.enabled(h.postPage))
	mux.HandleFunc("POST /intake", h.enabled(h.intake))
}

func (h *Handler) enabled(f http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !h.cfg.Get().Webform.Enabled {
			http.NotFound(w, r)
			return
		}
		f(w, r)
	}
}

func (h *Handler) count(via, result string) { Submissions.WithLabelValues("web", via, result).Inc() }

// clientIP is the client's address: the peer's, or, when the peer is one
// of [webform] trusted_proxies, the nearest address in X-Forwarded-For
// that is not one of them (each proxy appends the address it saw, so
// only the entries our own proxies added can be believed).
func clientIP(r *http.Request, wf *rules.Webform) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	ip := net.ParseIP(host)
	if ip == nil || !wf.TrustedProxy(ip) {
		return host
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		h := net.ParseIP(strings.TrimSpace(hops[i]))
		if h == nil {
			break // garbage below our proxies' entries: stop at what we trust
		}
		if !wf.TrustedProxy(h) {
			return h.String()
		}
		ip = h
	}
	return ip.String()
}

// bodyLimit is how much of a request body is read: the files' cap plus
// room for the text, the other fields and the multipart framing.
func bodyLimit(c *rules.Config) int64 {
	return c.FileCap() + int64(c.Webform.MaxTextBytes) + 64<<10
}

// uploadTime is how long a post's body may take: [http]'s ReadTimeout
// (30 s) suits Bitrix24's small event calls, not 10 MB of photos sent
// from a phone on a slow line.
const uploadTime = 5 * time.Minute

func allowSlowUpload(w http.ResponseWriter) {
	http.NewResponseController(w).SetReadDeadline(time.Now().Add(uploadTime))
}

// accept makes the appeal a message and has it accepted durably; the
// returned id is the request number the person is shown.
func (h *Handler) accept(ctx context.Context, c *rules.Config, a *Appeal, ip, proto, channel string) (string, error) {
	wf := &c.Webform
	mb := c.FindMailbox(wf.Mailbox)
	if mb == nil {
		return "", errors.New("webform.mailbox is not a [[mailbox]]")
	}
	now := time.Now()
	msgID, err := compose.NewMessageID(c.SMTP.Hostname)
	if err != nil {
		return "", err
	}
	consent := consentRecord(now, ip, wf.ConsentVersionOf())
	body, err := build(a, mail.Address{Name: mb.Name, Address: mb.Address}, msgID, consent, now)
	if err != nil {
		return "", err
	}
	m := &store.Message{ID: store.NewID(), From: a.Email, Rcpts: []string{mb.Address}, ClientIP: ip,
		Channel: "web", Consent: consent,
		// Checked, with nothing to check: the forward need not wait for a
		// sender check (docs/CONTRACT.md: no SPF on a browser's IP).
		AuthResults: "-"}
	if err := h.submit(m, "web-form", proto, body); err != nil {
		return "", err
	}
	h.log.Info("accepted", "queue_id", m.ID, "via", channel, "from", a.Email, "client", ip, "rcpts", m.Rcpts,
		"size", m.Size, "files", len(a.Files), "consent", consent)
	return m.ID, nil
}

// protoOf is the scheme the client used: TLS here, or X-Forwarded-Proto
// from a trusted proxy.
func protoOf(r *http.Request, wf *rules.Webform) string {
	host, _, _ := net.SplitHostPort(r.RemoteAddr)
	fromProxy := wf.TrustedProxy(net.ParseIP(host))
	if r.TLS != nil || (fromProxy && strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")) {
		return "HTTPS"
	}
	return "HTTP"
}

// ---- POST /intake -------------------------------------------------------

// intake is the API: bearer token, JSON or multipart, 201 {"id"} or
// 400 {"error","field"}.
func (h *Handler) intake(w http.ResponseWriter, r *http.Request) {
	c := h.cfg.Get()
	wf := &c.Webform
	if !h.authorized(wf, r) {
		h.count("api", "unauthorized")
		w.Header().Set("WWW-Authenticate", `Bearer realm="supportgate intake"`)
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "bad or missing bearer token"})
		return
	}
	allowSlowUpload(w)
	r.Body = http.MaxBytesReader(w, r.Body, bodyLimit(c)*4/3+64<<10) // base64 in JSON
	a, ferr, err := readAPI(r, c)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			h.count("api", "too_big")
			writeJSON(w, http.StatusRequestEntityTooLarge, map[string]string{"error": "request too big", "field": "files"})
			return
		}
		h.count("api", "invalid")
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return
	}
	if ferr == nil {
		if errs := a.check(wf); len(errs) > 0 {
			ferr = errs[0]
		}
	}
	if ferr == nil && totalSize(a.Files) > c.FileCap() {
		h.count("api", "too_big")
		writeJSON(w, http.StatusRequestEntityTooLarge, map[string]string{"error": "files too big", "field": "files"})
		return
	}
	if ferr != nil {
		h.count("api", "invalid")
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": ferr.Error(), "field": ferr.Field})
		return
	}
	id, err := h.accept(r.Context(), c, a, clientIP(r, wf), protoOf(r, wf), "api")
	if err != nil {
		h.failed(w, "api", err, func(code int, msg string) { writeJSON(w, code, map[string]string{"error": msg}) })
		return
	}
	h.count("api", "accepted")
	writeJSON(w, http.StatusCreated, map[string]string{"id": id})
}

// failed answers an accept that did not happen: nothing was stored, so
// the client is asked to try again.
func (h *Handler) failed(w http.ResponseWriter, via string, err error, answer func(int, string)) {
	if errors.Is(err, relay.ErrQueueFull) {
		h.count(via, "queue_full")
		w.Header().Set("Retry-After", "60")
		answer(http.StatusServiceUnavailable, "queue full, try again later")
		return
	}
	h.count(via, "error")
	h.log.Error("appeal not accepted", "err", err)
	w.Header().Set("Retry-After", "30")
	answer(http.StatusServiceUnavailable, "not accepted; try again later")
}

// authorized compares the bearer token with the file's in constant time.
// The file is read per request, so a new token takes effect at once.
func (h *Handler) authorized(wf *rules.Webform, r *http.Request) bool {
	if wf.APITokenFile == "" {
		return false
	}
	want, err := rules.Secret("", wf.APITokenFile)
	if err != nil || want == "" {
		h.log.Error("webform.api_token_file unreadable: /intake refuses everyone", "err", err)
		return false
	}
	auth := r.Header.Get("Authorization")
	if len(auth) < 7 || !strings.EqualFold(auth[:7], "Bearer ") { // the scheme is case-insensitive (RFC 9110)
		return false
	}
	return subtle.ConstantTimeCompare([]byte(strings.TrimSpace(auth[7:])), []byte(want)) == 1
}

type apiFile struct {
	Name    string `json:"name"`
	Content string `json:"content"`
}

type apiAppeal struct {
	Name    string    `json:"name"`
	Email   string    `json:"email"`
	Phone   string    `json:"phone"`
	Subject string    `json:"subject"`
	Text    string    `json:"text"`
	Consent any       `json:"consent"`
	Files   []apiFile `json:"files"`
}

// readAPI reads a JSON or multipart body. A field that is there but
// unusable (bad base64) is a FieldError; an unreadable body an error.
func readAPI(r *http.Request, c *rules.Config) (*Appeal, *FieldError, error) {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch mt {
	case "application/json":
		var in apiAppeal
		dec := json.NewDecoder(r.Body)
		if err := dec.Decode(&in); err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return nil, nil, err
			}
			return nil, nil, fmt.Errorf("body is not JSON: %v", err)
		}
		a := &Appeal{Name: in.Name, Email: in.Email, Phone: in.Phone, Subject: in.Subject, Text: in.Text, Consent: truthy(in.Consent)}
		for i, f := range in.Files {
			data, err := base64.StdEncoding.DecodeString(f.Content)
			if err != nil {
				return a, &FieldError{Field: "files", Code: codeInvalid}, nil
			}
			a.Files = append(a.Files, File{Name: fileName(f.Name, i), Data: data})
		}
		return a, nil, nil
	case "multipart/form-data":
		a, err := readMultipart(r, c)
		return a, nil, err
	}
	return nil, nil, errors.New("Content-Type must be application/json or multipart/form-data")
}

// truthy: consent is true, or any non-empty value (the form's "on").
func truthy(v any) bool {
	switch x := v.(type) {
	case bool:
		return x
	case string:
		return strings.TrimSpace(x) != "" && x != "false" && x != "0"
	case float64:
		return x != 0
	}
	return false
}

func fileName(raw string, i int) string {
	if n := CleanFileName(raw); n != "" {
		return n
	}
	return "file-" + strconv.Itoa(i+1)
}

func totalSize(fs []File) int64 {
	var n int64
	for _, f := range fs {
		n += int64(len(f.Data))
	}
	return n
}

// readMultipart reads the contract's fields from a multipart body (the
// page's and the API's), or from a plain urlencoded one (a company page's
// own form without files); files with no content (an empty file input)
// are skipped.
func readMultipart(r *http.Request, c *rules.Config) (*Appeal, error) {
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == "application/x-www-form-urlencoded" {
		if err := r.ParseForm(); err != nil {
			return nil, err
		}
		r.MultipartForm = &multipart.Form{Value: r.PostForm}
	} else if err := r.ParseMultipartForm(8 << 20); err != nil {
		return nil, err
	}
	f := r.MultipartForm
	get := func(k string) string {
		if v := f.Value[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	a := &Appeal{Name: get("name"), Email: get("email"), Phone: get("phone"), Subject: get("subject"),
		Text: get("text"), Consent: strings.TrimSpace(get("consent")) != ""}
	for i, fh := range f.File["files"] {
		if fh.Size == 0 && fh.Filename == "" {
			continue
		}
		rd, err := fh.Open()
		if err != nil {
			return nil, err
		}
		data, err := io.ReadAll(io.LimitReader(rd, c.FileCap()+1))
		rd.Close()
		if err != nil {
			return nil, err
		}
		if len(data) == 0 {
			continue
		}
		a.Files = append(a.Files, File{Name: fileName(fh.Filename, i), Data: data})
	}
	return a, nil
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}
