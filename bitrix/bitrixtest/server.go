package bitrixtest

import (
	"bytes"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// apiError is a portal error answer (docs/bitrix24.md §1.5).
type apiError struct {
	status int
	code   string
	desc   string
}

func errCore(desc string) *apiError { return &apiError{400, "ERROR_CORE", desc} }

// listResult asks the envelope writer to lift total/next (§1.4).
type listResult struct {
	items any
	total int
	next  int // 0: no next page
}

type call struct {
	p      *Portal
	params *omap
}

type handler func(c *call) (any, *apiError)

var methods = map[string]handler{}

// Call is one REST request as the portal saw it.
type Call struct {
	Method      string         // lower-cased, without .json
	HTTPMethod  string         // POST, GET
	ContentType string         //
	Header      http.Header    // request headers (Accept, User-Agent, ...)
	Query       string         // raw query string
	Body        []byte         // raw body, for wire-level assertions
	Params      map[string]any // merged params, PHP-style (arrays are maps)
	Args        []any          // the same values by position
	Status      int            // HTTP status answered
	Batch       bool           // a sub-call of a batch (HTTPMethod "BATCH")
}

func strconvI(n int64) string { return strconv.FormatInt(n, 10) }

// maxRequest caps a request body; uploads are base64 in JSON.
const maxRequest = 64 << 20

func (p *Portal) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := r.URL.Path
	switch {
	case strings.HasPrefix(path, "/bitrix/tools/disk/uf.php"), path == "/rest/download.json",
		strings.HasPrefix(path, "/disk/downloadFile/"):
		p.serveDownload(w, r)
		return
	case !strings.HasPrefix(path, "/rest/"):
		http.NotFound(w, r)
		return
	}
	parts := strings.Split(strings.Trim(strings.TrimPrefix(path, "/rest/"), "/"), "/")
	if len(parts) > 0 && parts[0] == "api" { // REST 3.0 shape, same handlers here
		parts = parts[1:]
	}
	body, _ := io.ReadAll(io.LimitReader(r.Body, maxRequest))
	method := ""
	if len(parts) > 0 {
		method = strings.ToLower(strings.TrimSuffix(parts[len(parts)-1], ".json"))
	}
	params := parseParams(r, body)
	if !p.waitHold(r.Context()) {
		return
	}
	rec := Call{Method: method, HTTPMethod: r.Method, ContentType: r.Header.Get("Content-Type"), Header: r.Header.Clone(),
		Query: r.URL.RawQuery, Body: body, Params: plain(params).(map[string]any), Args: params.values()}
	for i, a := range rec.Args {
		rec.Args[i] = plain(a)
	}

	p.mu.Lock()
	res, aerr, stall, redirect := p.dispatch(parts, method, params)
	p.mu.Unlock()

	switch {
	case redirect != "":
		rec.Status = http.StatusFound
		http.Redirect(w, r, redirect+r.URL.RequestURI(), http.StatusFound)
	case aerr != nil:
		rec.Status = aerr.status
	default:
		rec.Status = http.StatusOK
	}
	p.mu.Lock()
	p.calls = append(p.calls, rec)
	p.mu.Unlock()
	if method == "batch" && redirect == "" && aerr == nil && stall == stallNone && p.cutStall() {
		stall = stallTimeout
	}
	if redirect != "" {
		return
	}
	if stall != stallNone {
		p.doStall(w, r, stall)
		return
	}
	if aerr != nil {
		writeJSON(w, aerr.status, map[string]any{"error": aerr.code, "error_description": aerr.desc})
		return
	}
	p.writeResult(w, res)
}

// dispatch runs under p.mu: failure injection, auth, then the method.
func (p *Portal) dispatch(parts []string, method string, params *omap) (any, *apiError, stallMode, string) {
	if p.redirect != "" {
		return nil, nil, stallNone, p.redirect
	}
	// The leaky bucket is checked before anything else, auth included.
	if p.throttle > 0 || !p.bucket.admit(time.Now()) {
		if p.throttle > 0 {
			p.throttle--
		}
		p.refused++
		return nil, &apiError{503, "QUERY_LIMIT_EXCEEDED", "Too many requests"}, stallNone, ""
	}
	p.admitted++
	switch {
	case len(parts) == 1:
		return nil, &apiError{401, "NO_AUTH_FOUND", "Wrong authorization data"}, stallNone, ""
	case len(parts) != 3 || parts[0] == "" || parts[1] == "" || method == "":
		return nil, &apiError{404, "ERROR_METHOD_NOT_FOUND", "Method not found!"}, stallNone, ""
	case parts[0] != strconvI(p.userID) || parts[1] != p.secret:
		return nil, &apiError{401, "INVALID_CREDENTIALS", "Invalid request credentials"}, stallNone, ""
	}
	h, ok := methods[method]
	if !ok {
		return nil, &apiError{404, "ERROR_METHOD_NOT_FOUND", "Method not found!"}, stallNone, ""
	}
	if f := p.fails[method]; len(f) > 0 {
		p.fails[method] = f[1:]
		return nil, &apiError{f[0].status, f[0].code, f[0].desc}, stallNone, ""
	}
	stall := stallNone
	if s := p.stalls[method]; len(s) > 0 {
		stall = s[0]
		p.stalls[method] = s[1:]
	}
	res, aerr := h(&call{p: p, params: params})
	return res, aerr, stall, ""
}

// cutStall reports (once) that the batch just run was cut by
// BatchTimeoutAfter, so its answer must be lost.
func (p *Portal) cutStall() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.batchStall
	p.batchStall = false
	return s
}

// parseParams merges query, form body and JSON body the way the portal's
// getRequestData does (§1.2).
func parseParams(r *http.Request, body []byte) *omap {
	params := newOmap()
	params.addForm(r.URL.RawQuery)
	if len(body) == 0 {
		return params
	}
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	var fromBody *omap
	switch mt {
	case "application/json":
		fromBody = decodeJSON(body)
	case "multipart/form-data":
		fromBody = newOmap()
		r.Body = io.NopCloser(bytes.NewReader(body))
		if err := r.ParseMultipartForm(maxRequest); err == nil {
			for k, vs := range r.MultipartForm.Value {
				for _, v := range vs {
					fromBody.setBracket(k, v)
				}
			}
		}
	default: // form-urlencoded, or anything else: PHP's parse_str
		fromBody = newOmap()
		fromBody.addForm(string(body))
	}
	params.merge(fromBody)
	return params
}

type timeInfo struct {
	Start            float64 `json:"start"`
	Finish           float64 `json:"finish"`
	Duration         float64 `json:"duration"`
	Processing       float64 `json:"processing"`
	DateStart        string  `json:"date_start"`
	DateFinish       string  `json:"date_finish"`
	OperatingResetAt int64   `json:"operating_reset_at"`
	Operating        float64 `json:"operating"`
}

func (p *Portal) writeResult(w http.ResponseWriter, res any) {
	now := p.now()
	env := struct {
		Result any      `json:"result"`
		Total  *int     `json:"total,omitempty"`
		Next   *int     `json:"next,omitempty"`
		Time   timeInfo `json:"time"`
	}{Result: res, Time: timeInfo{
		Start: float64(now.UnixMilli()) / 1000, Finish: float64(now.UnixMilli())/1000 + 0.01,
		Duration: 0.01, Processing: 0.009, DateStart: now.Format(isoTime), DateFinish: now.Format(isoTime),
		OperatingResetAt: now.Add(10 * time.Minute).Unix(), Operating: 0,
	}}
	if l, ok := res.(listResult); ok {
		env.Result = l.items
		env.Total = &l.total
		if l.next > 0 {
			env.Next = &l.next
		}
	}
	writeJSON(w, http.StatusOK, env)
}

// writeJSON escapes "/" as "\/" like PHP's json_encode, so parsers that
// compare raw bytes instead of decoding fail here as they would for real.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"error":"INTERNAL_SERVER_ERROR","error_description":"fake: cannot encode"}`)
	}
	b = bytes.ReplaceAll(b, []byte("/"), []byte(`\/`))
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("X-Bitrix-Rest-Time", "0.01")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
