package bitrix

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Options tune a Client. The zero value is usable.
type Options struct {
	// HTTPClient is copied; its CheckRedirect is replaced (see New).
	// Default: a client with http.DefaultTransport.
	HTTPClient *http.Client

	// RatePerSec and Burst shape the client-side leaky bucket. Defaults
	// are the portal's own limits for non-enterprise plans: 2/s, 50
	// (§1.6). A negative RatePerSec disables client-side limiting.
	RatePerSec float64
	Burst      int

	// MaxRetries bounds retries of one call (default 5; negative: none).
	MaxRetries int

	// RetryWait is the first backoff delay, growing 1.5× per attempt up
	// to 30s (default 1s, as the JS SDK does for QUERY_LIMIT_EXCEEDED).
	RetryWait time.Duration

	// Timeout bounds one HTTP attempt (default 30s; the portal's own hard
	// limit is 60s per request).
	Timeout time.Duration

	// MaxDownload caps Download sizes (default 64 MiB).
	MaxDownload int64

	// Logger receives retries and ambiguous outcomes. Default: discard.
	Logger *slog.Logger

	// UserAgent overrides the default User-Agent.
	UserAgent string

	// Batch sends the calls of concurrent callers that can share one
	// `batch` request (§1.7) together; BatchWindow is how long the first
	// call waits for company (default 20ms).
	Batch       bool
	BatchWindow time.Duration

	// OnRequest is told of every HTTP request made ("batch" for a batch)
	// and its outcome: ok, refused (503/429: the bucket), error.
	// OnBatch is told the number of calls of each batch sent.
	OnRequest func(method, outcome string)
	OnBatch   func(calls int)
}

// DefaultUserAgent is sent unless Options.UserAgent says otherwise; the
// portal's docs ask for a real one (§8).
const DefaultUserAgent = "supportgate-bitrix/1.0 (Go net/http)"

// Client calls REST methods through one inbound webhook. It is safe for
// concurrent use; all calls share one rate limiter.
type Client struct {
	base      string // "https://portal/rest/1/secret/", with trailing slash
	origin    *url.URL
	secret    string
	hc        *http.Client // redirects refused
	dl        *http.Client // downloads: GET, a few redirects allowed
	lim       *limiter
	retries   int
	wait      time.Duration
	timeout   time.Duration
	maxDL     int64
	log       *slog.Logger
	userAgent string
	bat       *batcher
	onRequest func(method, outcome string)

	meMu sync.Mutex
	me   *User
}

// New checks webhookURL (https://PORTAL/rest/USER_ID/SECRET/) and returns a
// client for it. Plain http is accepted so tests can use httptest servers;
// a real portal refuses it with INVALID_REQUEST (§1.1).
func New(webhookURL string, opts Options) (*Client, error) {
	// Errors here name the host only: in a malformed URL we cannot
	// tell which part is the secret.
	u, err := url.Parse(strings.TrimSpace(webhookURL))
	if err != nil {
		return nil, errors.New("bitrix: webhook URL does not parse")
	}
	if u.Scheme != "https" && u.Scheme != "http" || u.Host == "" {
		return nil, errors.New("bitrix: webhook URL: want https://PORTAL/rest/USER/SECRET/")
	}
	parts := strings.Split(strings.Trim(u.Path, "/"), "/")
	if len(parts) != 3 || parts[0] != "rest" || parts[1] == "" || parts[2] == "" {
		return nil, fmt.Errorf("bitrix: webhook URL for %s: want https://PORTAL/rest/USER/SECRET/", u.Host)
	}
	if u.RawQuery != "" || u.User != nil || u.Fragment != "" {
		return nil, fmt.Errorf("bitrix: webhook URL for %s: no query, fragment or user info allowed", u.Host)
	}
	c := &Client{
		origin:    &url.URL{Scheme: u.Scheme, Host: u.Host},
		secret:    parts[2],
		retries:   opts.MaxRetries,
		wait:      opts.RetryWait,
		timeout:   opts.Timeout,
		maxDL:     opts.MaxDownload,
		log:       opts.Logger,
		userAgent: opts.UserAgent,
	}
	c.base = c.origin.String() + "/rest/" + parts[1] + "/" + parts[2] + "/"
	switch {
	case c.retries == 0:
		c.retries = 5
	case c.retries < 0:
		c.retries = 0
	}
	if c.wait <= 0 {
		c.wait = time.Second
	}
	if c.timeout <= 0 {
		c.timeout = 30 * time.Second
	}
	if c.maxDL <= 0 {
		c.maxDL = 64 << 20
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.userAgent == "" {
		c.userAgent = DefaultUserAgent
	}
	rate, burst := opts.RatePerSec, opts.Burst
	if rate == 0 {
		rate = 2
	}
	if burst <= 0 {
		burst = 50
	}
	c.lim = newLimiter(rate, burst)
	c.onRequest = opts.OnRequest
	if opts.Batch {
		c.bat = newBatcher(c, opts.BatchWindow)
		c.bat.sizes = opts.OnBatch
	}

	hc := http.Client{}
	if opts.HTTPClient != nil {
		hc = *opts.HTTPClient
	}
	dl := hc
	// A moved portal answers 302 (§1.8). Go would follow it and turn our
	// POST into a body-less GET; refuse instead and report it.
	hc.CheckRedirect = func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}
	// Downloads are GETs, safe to follow, but not forever.
	dl.CheckRedirect = func(_ *http.Request, via []*http.Request) error {
		if len(via) >= 3 {
			return errors.New("too many redirects")
		}
		return nil
	}
	c.hc, c.dl = &hc, &dl
	return c, nil
}

// Origin returns the portal's scheme://host, e.g. for building task links.
func (c *Client) Origin() string { return c.origin.String() }

// Redact returns s with webhook secrets and auth tokens masked, for logs
// and error messages: /rest/1/SECRET/x → /rest/1/***/x, auth=… → auth=***.
// A string that does not parse as a URL is scrubbed by pattern.
func Redact(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return redactPath(s)
	}
	if u.User != nil {
		u.User = url.User("***")
	}
	u.Path = redactPath(u.Path)
	u.RawPath = ""
	if u.RawQuery != "" {
		q := u.Query()
		for k := range q {
			switch strings.ToLower(k) {
			case "auth", "token", "access_token", "refresh_token", "application_token":
				q[k] = []string{"***"}
			}
		}
		u.RawQuery = q.Encode()
	}
	return strings.ReplaceAll(u.String(), "%2A%2A%2A", "***")
}

// redactPath masks the segment after /rest/USER/ (and /rest/api/USER/).
func redactPath(p string) string {
	parts := strings.Split(p, "/")
	for i := 0; i+2 < len(parts); i++ {
		if parts[i] != "rest" {
			continue
		}
		j := i + 2
		if parts[i+1] == "api" && j+1 < len(parts) {
			j++
		}
		if parts[j] != "" {
			parts[j] = "***"
		}
		break
	}
	return strings.Join(parts, "/")
}

// scrub removes the secret from text we did not write ourselves (portal
// error descriptions, transport errors) before it goes into an error.
func (c *Client) scrub(s string) string {
	if c.secret == "" {
		return s
	}
	return strings.ReplaceAll(s, c.secret, "***")
}
