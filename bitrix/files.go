package bitrix

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// UploadFile stores data in Drive folder folderID under name (the portal
// renames on a clash, generateUniqueName) and returns the Drive object id.
// Reference it from tasks and comments as "n"+id (§5). Not retried on an
// unknown outcome (ErrAmbiguous); a duplicate upload is only clutter, so
// callers may choose to upload again.
func (c *Client) UploadFile(ctx context.Context, folderID int64, name string, data []byte) (int64, error) {
	if folderID <= 0 || strings.TrimSpace(name) == "" {
		return 0, errors.New("bitrix disk.folder.uploadfile: folder id and name are required")
	}
	params := struct {
		ID                 int64             `json:"id"`
		Data               map[string]string `json:"data"`
		FileContent        [2]string         `json:"fileContent"` // [name, base64] by position
		GenerateUniqueName bool              `json:"generateUniqueName"`
	}{
		ID:                 folderID,
		Data:               map[string]string{"NAME": name},
		FileContent:        [2]string{name, base64.StdEncoding.EncodeToString(data)},
		GenerateUniqueName: true,
	}
	var res struct {
		ID ID `json:"ID"`
	}
	if _, err := c.call(ctx, "disk.folder.uploadfile", params, create, &res); err != nil {
		return 0, err
	}
	if res.ID <= 0 {
		return 0, &AmbiguousError{Method: "disk.folder.uploadfile",
			Err: &Error{Method: "disk.folder.uploadfile", Description: "answer has no file id", HTTPStatus: 200}}
	}
	return int64(res.ID), nil
}

// UploadFileFrom is UploadFile for content that is not in memory: open
// gives the file's bytes (size of them, exactly) each time the request is
// sent, and they are base64-encoded into the JSON body as it goes out, so
// a 20 MB attachment costs buffers, not 20 MB plus its base64 plus the
// JSON (issue 14: 637 MB RSS with 50 big messages). Same semantics as
// UploadFile: retried only when the portal refused before running it.
func (c *Client) UploadFileFrom(ctx context.Context, folderID int64, name string, size int64, open func() (io.ReadCloser, error)) (int64, error) {
	const method = "disk.folder.uploadfile"
	if folderID <= 0 || strings.TrimSpace(name) == "" {
		return 0, errors.New("bitrix disk.folder.uploadfile: folder id and name are required")
	}
	jname, _ := json.Marshal(name)
	// The same JSON UploadFile's params marshal to, fileContent's base64
	// left open in the middle.
	prefix := `{"id":` + strconv.FormatInt(folderID, 10) + `,"data":{"NAME":` + string(jname) + `},"fileContent":[` + string(jname) + `,"`
	const suffix = `"],"generateUniqueName":true}`
	env, err := c.streamCreate(ctx, method, name, prefix, suffix, size, open)
	if err != nil {
		return 0, err
	}
	var res struct {
		ID ID `json:"ID"`
	}
	if uerr := json.Unmarshal(env.Result, &res); uerr != nil || res.ID <= 0 {
		return 0, &AmbiguousError{Method: method,
			Err: &Error{Method: method, Description: "answer has no file id", HTTPStatus: 200}}
	}
	return int64(res.ID), nil
}

// streamCreate sends one create whose JSON body is prefix, the file's
// bytes base64-encoded as they are read, and suffix (an upload: never in
// a batch, one unit of the budget each). A refusal before the portal ran
// it (the bucket) is retried; a lost answer is ambiguous.
func (c *Client) streamCreate(ctx context.Context, method, name, prefix, suffix string, size int64, open func() (io.ReadCloser, error)) (*envelope, error) {
	length := int64(len(prefix)) + int64(base64.StdEncoding.EncodedLen(int(size))) + int64(len(suffix))
	for attempt := 0; ; attempt++ {
		if err := c.lim.wait(ctx); err != nil {
			return nil, fmt.Errorf("bitrix %s: %w", method, err)
		}
		src, err := open()
		if err != nil {
			return nil, fmt.Errorf("bitrix %s: open %s: %w", method, name, err)
		}
		body := io.MultiReader(strings.NewReader(prefix), &b64Reader{src: src}, strings.NewReader(suffix))
		env, err := c.doStream(ctx, method, body, length, c.timeout+time.Duration(size/(256<<10))*time.Second)
		src.Close()
		if err == nil {
			return env, nil
		}
		var e *Error
		isAPI := errors.As(err, &e)
		if isAPI && isRateLimit(e) {
			c.lim.drain()
			if attempt >= c.retries {
				return nil, err
			}
			if serr := sleep(ctx, c.backoff(attempt)); serr != nil {
				return nil, fmt.Errorf("bitrix %s: %w (last error: %v)", method, serr, err)
			}
			continue
		}
		if !isAPI || e.HTTPStatus >= 500 && !e.codeIs(CodeOverload) {
			c.log.Warn("bitrix: create outcome unknown", "method", method, "err", err)
			return nil, &AmbiguousError{Method: method, Err: err}
		}
		return nil, err
	}
}

// doStream is one POST of a streamed JSON body of known length, read
// back like every other call.
func (c *Client) doStream(ctx context.Context, method string, body io.Reader, length int64, timeout time.Duration) (*envelope, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+method+".json", body)
	if err != nil {
		return nil, fmt.Errorf("bitrix %s: build request: %s", method, c.scrub(err.Error()))
	}
	req.ContentLength = length
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.userAgent)
	resp, err := c.hc.Do(req)
	// Each upload is a unit of the portal's budget like any request: the
	// metric must show them, or a lane stuck behind uploads looks idle.
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
		return nil, &Error{Method: method, Code: CodeRedirect, HTTPStatus: resp.StatusCode,
			Description: "portal answered a redirect to " + Redact(resp.Header.Get("Location")) + "; update the webhook URL"}
	}
	var env envelope
	if len(raw) > maxBody || json.Unmarshal(raw, &env) != nil {
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

// b64Reader base64-encodes src as it is read (standard alphabet, padded).
type b64Reader struct {
	src  io.Reader
	in   [3 << 10]byte
	buf  [4 << 10]byte
	out  []byte
	done error
}

func (r *b64Reader) Read(p []byte) (int, error) {
	for len(r.out) == 0 {
		if r.done != nil {
			return 0, r.done
		}
		n, err := io.ReadFull(r.src, r.in[:])
		if n > 0 {
			base64.StdEncoding.Encode(r.buf[:], r.in[:n])
			r.out = r.buf[:base64.StdEncoding.EncodedLen(n)]
		}
		switch {
		case err == io.EOF || err == io.ErrUnexpectedEOF:
			r.done = io.EOF
		case err != nil:
			r.done = err
		}
	}
	n := copy(p, r.out)
	r.out = r.out[n:]
	return n, nil
}

// Download fetches a file URL from a comment, chat message or Drive
// object. Relative URLs ("/bitrix/tools/disk/uf.php?...") are resolved
// against the portal; absolute ones must point at the portal's host, so a
// forged URL cannot make us fetch from elsewhere. Bodies larger than
// Options.MaxDownload are refused.
func (c *Client) Download(ctx context.Context, rawURL string) ([]byte, error) {
	const method = "download"
	ref, err := url.Parse(strings.TrimSpace(rawURL))
	if err != nil || rawURL == "" {
		return nil, &Error{Method: method, Description: "bad URL"}
	}
	u := c.origin.ResolveReference(ref)
	if !strings.EqualFold(u.Host, c.origin.Host) || (u.Scheme != "https" && u.Scheme != "http") {
		return nil, &Error{Method: method, Description: "URL is not on the portal " + c.origin.Host}
	}
	if err := c.lim.wait(ctx); err != nil {
		return nil, fmt.Errorf("bitrix %s: %w", method, err)
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, &Error{Method: method, Description: "bad URL"}
	}
	// The docs ask for browser-like headers on downloads (§5).
	req.Header.Set("User-Agent", c.userAgent)
	req.Header.Set("Accept", "*/*")
	req.Header.Set("Accept-Language", "en")
	req.Header.Set("Referer", c.origin.String()+"/")
	resp, err := c.dl.Do(req)
	if err != nil {
		return nil, c.netErr(method, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, &Error{Method: method, HTTPStatus: resp.StatusCode, Description: http.StatusText(resp.StatusCode)}
	}
	if resp.ContentLength > c.maxDL {
		return nil, &Error{Method: method, HTTPStatus: resp.StatusCode, Description: "file larger than the download limit"}
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, c.maxDL+1))
	if err != nil {
		return nil, c.netErr(method, err)
	}
	if int64(len(data)) > c.maxDL {
		return nil, &Error{Method: method, HTTPStatus: resp.StatusCode, Description: "file larger than the download limit"}
	}
	return data, nil
}
