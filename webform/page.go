package webform

import (
	"bytes"
	"crypto/rand"
	"crypto/subtle"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"math"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"supportgate/rules"
)

//go:embed templates/form.ru.html
var builtin embed.FS

// pageTemplate is the parsed page: one html/template that shows the form
// (with errors next to their fields) or the thank-you page (.Done).
type pageTemplate struct{ t *template.Template }

// loadPage parses the configured template, or the built-in Russian one.
// The template must define "msg", which turns an error code into words
// in the page's language.
func loadPage(file string) (*pageTemplate, error) {
	var src []byte
	var err error
	name := file
	if file == "" {
		name = "form.ru.html"
		src, err = builtin.ReadFile("templates/form.ru.html")
	} else {
		src, err = os.ReadFile(file)
	}
	if err != nil {
		return nil, err
	}
	t, err := template.New(name).Parse(string(src))
	if err != nil {
		return nil, err
	}
	if t.Lookup("msg") == nil {
		return nil, fmt.Errorf("%s: no {{define \"msg\"}} (error wording) in the template", name)
	}
	// Render once with sample data so a template that parses but fails on
	// its data (a misspelled field) is refused at load, not per request.
	if err := t.Execute(&bytes.Buffer{}, pageData{Errors: map[string]string{"name": codeRequired}}); err != nil {
		return nil, err
	}
	return &pageTemplate{t: t}, nil
}

// pageData is what the page template sees.
type pageData struct {
	Action         string            // where the form posts (the page's own path)
	Token          string            // the signed token, a hidden field
	TokenField     string            // its name
	Honeypot       string            // the hidden field robots fill in
	Values         map[string]string // the input kept after an error
	Consent        bool              // the consent box was ticked
	Errors         map[string]string // field → error code
	Notice         string            // an error for the whole form (code)
	Done           bool              // the thank-you page
	ID             string            // the request number
	ConsentText    string
	ConsentVersion string
	MaxFiles       int
	MaxMB          string
	CaptchaSiteKey string
	CaptchaField   string
	Nonce          string // CSP nonce for the page's <style> and the captcha's <script>
}

// HasErrors is for the template's summary at the top.
func (d pageData) HasErrors() bool { return len(d.Errors) > 0 || d.Notice != "" }

func (h *Handler) pageT() *pageTemplate {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.page
}

// servePage is GET <path>: the empty form with a fresh token.
func (h *Handler) servePage(w http.ResponseWriter, r *http.Request) {
	c := h.cfg.Get()
	d := h.baseData(c)
	d.Token = h.issue(h.nonceFor(w, r, c), time.Now())
	h.render(w, c, http.StatusOK, d)
}

// nonceFor keeps the browser's nonce cookie or sets a new one. Over
// HTTPS it is SameSite=None (so the form works inside a company page's
// iframe); over plain HTTP browsers refuse that, so it is Lax.
func (h *Handler) nonceFor(w http.ResponseWriter, r *http.Request, c *rules.Config) string {
	if ck, err := r.Cookie(cookieName); err == nil && len(ck.Value) == 32 {
		if _, err := hex.DecodeString(ck.Value); err == nil {
			return ck.Value
		}
	}
	n := newNonce()
	ck := &http.Cookie{Name: cookieName, Value: n, Path: c.Webform.Path, HttpOnly: true, SameSite: http.SameSiteLaxMode}
	if protoOf(r, &c.Webform) == "HTTPS" {
		ck.Secure, ck.SameSite = true, http.SameSiteNoneMode
	}
	http.SetCookie(w, ck)
	return n
}

func (h *Handler) baseData(c *rules.Config) pageData {
	wf := &c.Webform
	d := pageData{Action: wf.Path, TokenField: tokenField, Honeypot: wf.Honeypot, Values: map[string]string{},
		Errors: map[string]string{}, ConsentText: wf.ConsentText, ConsentVersion: wf.ConsentVersionOf(),
		MaxFiles: wf.MaxFiles, MaxMB: megabytes(c.FileCap())}
	if wf.CaptchaOn() {
		d.CaptchaSiteKey, d.CaptchaField = wf.CaptchaSiteKey, wf.CaptchaField
	}
	return d
}

// megabytes is a size in MiB for the page, one decimal, a decimal comma
// ("10", "2,5"); a cap under 0.1 MiB keeps two significant digits
// ("0,0038") rather than read "0".
func megabytes(n int64) string {
	v := float64(n) / (1 << 20)
	f := strconv.FormatFloat(math.Round(v*10)/10, 'f', -1, 64)
	if v < 0.1 {
		f = strconv.FormatFloat(v, 'g', 2, 64)
	}
	return strings.Replace(f, ".", ",", 1)
}

// render writes the page with its security headers: a CSP that allows
// our own inline style (by nonce), the captcha widget when configured,
// posting only to ourselves, and framing only by [webform]
// frame_ancestors.
func (h *Handler) render(w http.ResponseWriter, c *rules.Config, code int, d pageData) {
	nb := make([]byte, 12)
	rand.Read(nb)
	d.Nonce = hex.EncodeToString(nb)
	var buf bytes.Buffer
	if err := h.pageT().t.Execute(&buf, d); err != nil {
		h.log.Error("form page template", "err", err)
		http.Error(w, "the form page template failed", http.StatusInternalServerError)
		return
	}
	script, frame := "", ""
	if d.CaptchaSiteKey != "" {
		const yc = "https://smartcaptcha.yandexcloud.net"
		script, frame = " "+yc, "; frame-src "+yc+"; connect-src "+yc
	}
	hd := w.Header()
	hd.Set("Content-Security-Policy", fmt.Sprintf("default-src 'none'; style-src 'nonce-%s'; img-src 'self' data:; script-src 'nonce-%s'%s%s; form-action 'self'; base-uri 'none'; frame-ancestors %s",
		d.Nonce, d.Nonce, script, frame, strings.Join(c.Webform.FrameAncestors, " ")))
	hd.Set("Content-Type", "text/html; charset=utf-8")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "same-origin")
	hd.Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	w.Write(buf.Bytes())
}

// postPage is POST <path> from the page: the thank-you page naming the
// request number, or the form again with the input kept and each error
// next to its field.
func (h *Handler) postPage(w http.ResponseWriter, r *http.Request) {
	c := h.cfg.Get()
	wf := &c.Webform
	ip, now := clientIP(r, wf), time.Now()
	d := h.baseData(c)
	allowSlowUpload(w)
	r.Body = http.MaxBytesReader(w, r.Body, bodyLimit(c))
	a, err := readMultipart(r, c)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			h.count("page", "too_big")
			d.Errors["files"] = codeTooBig
			d.Token = h.issue(h.nonceFor(w, r, c), now)
			h.render(w, c, http.StatusRequestEntityTooLarge, d)
			return
		}
		h.count("page", "invalid")
		d.Notice = "bad_request"
		d.Token = h.issue(h.nonceFor(w, r, c), now)
		h.render(w, c, http.StatusBadRequest, d)
		return
	}
	val := func(k string) string {
		if v := r.MultipartForm.Value[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	d.Values = map[string]string{"name": a.Name, "email": a.Email, "phone": a.Phone, "subject": a.Subject, "text": a.Text}
	d.Consent = a.Consent

	// The per-IP cap, after the form is read (within its size cap) so a
	// 429 shows the person's input again, nothing stored. The slot is
	// reserved now, atomically with the count, and given back unless the
	// post is accepted: parallel posts cannot pass the cap, and a typo
	// or a refusal costs nobody a slot (the cap counts submissions).
	ok, wait, release := h.perIP.reserve(ip, wf.MaxPerIP, wf.Window.D(), now)
	if !ok {
		h.count("page", "rate_limited")
		h.log.Info("refused", "reason", "too many submissions from this IP", "client", ip)
		w.Header().Set("Retry-After", strconv.Itoa(int(wait/time.Second)+1))
		d.Notice = "rate_limited"
		d.Token = h.issue(h.nonceFor(w, r, c), now)
		h.render(w, c, http.StatusTooManyRequests, d)
		return
	}
	accepted := false
	defer func() {
		if !accepted {
			release()
		}
	}()

	nonce, at, signed := h.verify(val(tokenField))
	ck, _ := r.Cookie(cookieName)
	// Our page in this browser: our signed token, and either its nonce
	// in the cookie or the browser's Origin saying the post came from our
	// own page (a browser inside a company page's iframe may withhold a
	// third-party cookie; it never lets another site claim our Origin).
	ours := signed && ((ck != nil && subtle.ConstantTimeCompare([]byte(ck.Value), []byte(nonce)) == 1) || sameOrigin(r))
	if !ours && !originAllowed(r.Header.Get("Origin"), wf.AllowedOrigins) {
		h.count("page", "csrf")
		h.log.Info("refused", "reason", "no valid form token (CSRF)", "client", ip, "origin", r.Header.Get("Origin"))
		d.Notice = "csrf"
		d.Token = h.issue(h.nonceFor(w, r, c), now)
		h.render(w, c, http.StatusForbidden, d)
		return
	}
	if val(wf.Honeypot) != "" {
		h.count("page", "robot")
		h.log.Info("refused", "reason", "honeypot filled", "client", ip)
		d.Notice = codeRobot
		d.Token = h.issue(h.nonceFor(w, r, c), now)
		h.render(w, c, http.StatusBadRequest, d)
		return
	}
	status := http.StatusBadRequest
	if ours {
		switch age := now.Sub(at); {
		case age < wf.MinFillTime.D():
			h.count("page", "too_fast")
			d.Errors[tokenField] = codeTooFast
		case age > maxFormAge:
			d.Errors[tokenField] = codeExpired
		}
	}
	for _, e := range a.check(wf) {
		if _, dup := d.Errors[e.Field]; !dup {
			d.Errors[e.Field] = e.Code
		}
	}
	if totalSize(a.Files) > c.FileCap() {
		d.Errors["files"] = codeTooBig
		status = http.StatusRequestEntityTooLarge
	}
	if len(d.Errors) == 0 && wf.CaptchaOn() {
		ok, err := h.captchaOK(r.Context(), wf, val(wf.CaptchaField), ip)
		if err != nil {
			h.log.Warn("captcha check failed", "err", err, "client", ip)
		}
		if !ok {
			h.count("page", "captcha")
			d.Errors["captcha"] = codeCaptcha
		}
	}
	if len(d.Errors) > 0 {
		if _, fast := d.Errors[tokenField]; !fast || len(d.Errors) > 1 {
			h.count("page", "invalid")
		}
		// A fresh token stamped now: a robot that posts junk once does
		// not get a form "filled in long ago" for its second try.
		d.Token = h.issue(h.nonceFor(w, r, c), now)
		h.render(w, c, status, d)
		return
	}
	tok := val(tokenField)
	if ours {
		if first, mine := h.once.claim(tok, now); !mine && first.id != "" {
			h.count("page", "duplicate")
			h.log.Info("the same form posted again: answered with its first request number", "queue_id", first.id, "client", ip)
			h.render(w, c, http.StatusOK, pageData{Done: true, ID: first.id, Action: wf.Path, Values: d.Values, Errors: map[string]string{}})
			return
		}
	}
	id, err := h.accept(r.Context(), c, a, ip, protoOf(r, wf), "page")
	if ours {
		h.once.finish(tok, id)
	}
	if err != nil {
		h.failed(w, "page", err, func(code int, msg string) {
			d.Notice = "unavailable"
			d.Token = h.issue(h.nonceFor(w, r, c), now)
			h.render(w, c, code, d)
		})
		return
	}
	accepted = true
	h.count("page", "accepted")
	h.render(w, c, http.StatusOK, pageData{Done: true, ID: id, Action: wf.Path, Values: d.Values, Errors: map[string]string{}})
}

// sameOrigin: the browser says the post came from a page of ours (its
// Origin's host is the host the request is for).
func sameOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" || o == "null" {
		return false
	}
	u, err := url.Parse(o)
	return err == nil && u.Host != "" && strings.EqualFold(u.Host, r.Host)
}

// originAllowed: the post came from a company page listed in [webform]
// allowed_origins (browsers set Origin on every cross-site POST).
func originAllowed(origin string, allowed []string) bool {
	if origin == "" || origin == "null" {
		return false
	}
	for _, a := range allowed {
		if strings.EqualFold(strings.TrimSuffix(a, "/"), origin) {
			return true
		}
	}
	return false
}
