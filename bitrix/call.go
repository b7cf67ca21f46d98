package bitrix

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

// kind tells the retry policy whether repeating a call is harmless.
type kind int

const (
	read   kind = iota // safe to repeat: get, list, find
	create             // adds something: never repeated blindly
)

// envelope is the portal's answer (§1.4, §1.5).
type envelope struct {
	Result json.RawMessage `json:"result"`
	Total  *ID             `json:"total"`
	Next   *ID             `json:"next"`
	Err    json.RawMessage `json:"error"`
	Desc   flexString      `json:"error_description"`
}

// maxBody caps a REST answer we are willing to read; lists are 50 rows.
const maxBody = 32 << 20

// call sends params as JSON to method and decodes result into out (if not
// nil). It applies the limiter and the retry policy described in doc.go.
func (c *Client) call(ctx context.Context, method string, params any, k kind, out any) (*envelope, error) {
	body, err := json.Marshal(params)
	if err != nil {
		return nil, fmt.Errorf("bitrix %s: encode params: %w", method, err)
	}
	query := ""
	batched := c.bat != nil && batchable[method]
	if batched {
		if query, err = encodeQuery(params); err != nil {
			batched = false
		}
	}
	for attempt := 0; ; attempt++ {
		var env *envelope
		if batched && c.bat.off.Load() {
			batched = false
		}
		if batched {
			// The batcher waits for the pacer, once per batch.
			env, err = c.bat.do(ctx, method, query, k)
			if errors.Is(err, errNotSent) {
				return nil, err // never left: nothing to look for
			}
			if errors.Is(err, errBatchOff) {
				batched = false
				attempt--
				continue
			}
		} else {
			if err := c.lim.wait(ctx); err != nil {
				return nil, fmt.Errorf("bitrix %s: %w", method, err)
			}
			env, err = c.do(ctx, method, body)
		}
		if err == nil {
			if out != nil && len(env.Result) > 0 {
				if uerr := json.Unmarshal(env.Result, out); uerr != nil {
					err = &Error{Method: method, Description: "unexpected result: " + uerr.Error(), HTTPStatus: 200}
					if k == create {
						// It ran; we just cannot read what it made.
						return nil, &AmbiguousError{Method: method, Err: err}
					}
					return nil, err
				}
			}
			return env, nil
		}
		var e *Error
		isAPI := errors.As(err, &e)
		if !isAPI && ctx.Err() != nil {
			// The caller gave up mid-request; for a create the
			// request may still have been carried out.
			err = fmt.Errorf("bitrix %s: %w", method, ctx.Err())
			if k == create {
				return nil, &AmbiguousError{Method: method, Err: err}
			}
			return nil, err
		}
		rateLimited := isAPI && isRateLimit(e)
		if rateLimited && !batched {
			c.lim.drain()
		}
		if k == create && !rateLimited && (!isAPI || e.HTTPStatus >= 500 && !e.codeIs(CodeOverload)) {
			c.log.Warn("bitrix: create outcome unknown", "method", method, "err", err)
			return nil, &AmbiguousError{Method: method, Err: err}
		}
		if !IsRetryable(err) || attempt >= c.retries {
			return nil, err
		}
		d := c.backoff(attempt)
		c.log.Info("bitrix: retrying", "method", method, "attempt", attempt+1, "wait", d, "err", err)
		if serr := sleep(ctx, d); serr != nil {
			return nil, fmt.Errorf("bitrix %s: %w (last error: %v)", method, serr, err)
		}
	}
}

// backoff grows 1.5× per attempt from RetryWait, capped at 30s.
func (c *Client) backoff(attempt int) time.Duration {
	d := float64(c.wait)
	for range attempt {
		d *= 1.5
	}
	return min(time.Duration(d), 30*time.Second)
}

// do performs one HTTP attempt. Errors are *Error for portal answers and
// redacted transport errors otherwise.
func (c *Client) do(ctx context.Context, method string, body []byte) (*envelope, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+method+".json", bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("bitrix %s: build request: %s", method, c.scrub(err.Error()))
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.userAgent)
	resp, err := c.hc.Do(req)
	c.observeResponse(method, resp, err)
	if err != nil {
		return nil, c.netErr(method, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return nil, c.netErr(method, err)
	}
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		loc := resp.Header.Get("Location")
		return nil, &Error{Method: method, Code: CodeRedirect, HTTPStatus: resp.StatusCode,
			Description: "portal answered a redirect to " + Redact(loc) + "; update the webhook URL"}
	}
	if len(raw) > maxBody {
		return nil, &Error{Method: method, Description: "answer too large", HTTPStatus: resp.StatusCode}
	}
	var env envelope
	if err := json.Unmarshal(raw, &env); err != nil {
		// A proxy page, or a truncated body.
		return nil, &Error{Method: method, HTTPStatus: resp.StatusCode,
			Description: "answer is not JSON (" + http.StatusText(resp.StatusCode) + ")"}
	}
	if len(env.Err) > 0 && string(env.Err) != "null" {
		return nil, &Error{Method: method, Code: c.scrub(errCode(env.Err)),
			Description: c.scrub(string(env.Desc)), HTTPStatus: resp.StatusCode}
	}
	if resp.StatusCode >= 300 {
		return nil, &Error{Method: method, HTTPStatus: resp.StatusCode, Description: http.StatusText(resp.StatusCode)}
	}
	return &env, nil
}

// observeResponse tells the request's outcome to OnRequest.
func (c *Client) observeResponse(method string, resp *http.Response, err error) {
	switch {
	case err != nil:
		c.observe(method, "error")
	case resp.StatusCode == http.StatusServiceUnavailable || resp.StatusCode == http.StatusTooManyRequests:
		c.observe(method, "refused") // most likely the bucket; a 503 page counts too
	case resp.StatusCode >= 300:
		c.observe(method, "error")
	default:
		c.observe(method, "ok")
	}
}

func (c *Client) observe(method, outcome string) {
	if c.onRequest != nil {
		c.onRequest(method, outcome)
	}
}

// errCode extracts the code from "error": a string (usual), a number, or a
// REST 3.0 object {"code": ..., "message": ...}.
func errCode(raw json.RawMessage) string {
	var s flexString
	if json.Unmarshal(raw, &s) == nil && s != "" {
		return string(s)
	}
	var obj struct {
		Code flexString `json:"code"`
	}
	if json.Unmarshal(raw, &obj) == nil {
		return string(obj.Code)
	}
	return ""
}

// netErr makes a transport error safe to print: *url.Error carries the
// full request URL, secret included.
func (c *Client) netErr(method string, err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("bitrix %s: %w", method, &url.Error{Op: ue.Op, URL: Redact(ue.URL), Err: ue.Err})
	}
	return fmt.Errorf("bitrix %s: %w", method, &url.Error{Op: "Post", URL: method, Err: errors.New(c.scrub(err.Error()))})
}
