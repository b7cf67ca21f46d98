package gateway

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	bolt "go.etcd.io/bbolt"

	"supportgate/console"
	"supportgate/mailparse"
	"supportgate/pipeline"
	"supportgate/store"
)

// consoleRoutes are the operator's endpoints, on [console] listen only:
// never on the [http] listener that Bitrix24 (and maybe the internet)
// reaches.
func (g *Gateway) consoleRoutes(c *console.Server) {
	c.HandleFunc("GET /status", g.consoleStatus)
	c.HandleFunc("POST /explain", g.explain)
	c.HandleFunc("POST /explain/state", g.explainState)
	c.HandleFunc("GET /db/check", g.dbCheck)
	c.HandleFunc("GET /db/backup", g.dbBackup)
	c.HandleFunc("GET /held", g.heldList)
	g.consolePages(c)
}

// Status is what GET /status answers: which config the gateway runs, so
// `supportgate explain -config F` knows whether F is it.
type Status struct {
	Config string `json:"config"`
}

func (g *Gateway) consoleStatus(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(Status{Config: g.Cfg.Get().Path})
}

// explainParams are the only query parameters explain takes. Anything
// else is refused: in particular no path (config=, template=), since the
// gateway reading a file a client names is how /etc/shadow came back as
// a "rendered reply".
var explainParams = map[string]bool{"from": true, "rcpt": true, "ip": true, "helo": true, "render": true}

func badParams(r *http.Request) string {
	for k := range r.URL.Query() {
		if !explainParams[k] {
			return k
		}
	}
	return ""
}

// explain serves POST /explain for `supportgate explain` on the running
// config: the dry run with the live thread state.
func (g *Gateway) explain(w http.ResponseWriter, r *http.Request) {
	if k := badParams(r); k != "" {
		http.Error(w, "explain takes no "+strconv.Quote(k)+": it uses the running config only (no file is ever read from a request); run `supportgate explain -config FILE` to try another config with your own rights", http.StatusBadRequest)
		return
	}
	c := g.Cfg.Get()
	raw, err := io.ReadAll(io.LimitReader(r.Body, c.SMTP.MaxMessageBytes+1))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	q := r.URL.Query()
	in := pipeline.ExplainInput{Raw: raw, MailFrom: q.Get("from"), Rcpt: q.Get("rcpt"), ClientIP: q.Get("ip"),
		Helo: q.Get("helo"), Render: q.Get("render") == "1"}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	err = g.Store.View(func(tx *bolt.Tx) error { return pipeline.Explain(r.Context(), tx, c, in, w) })
	if err != nil {
		io.WriteString(w, "error: "+err.Error()+"\n")
	}
}

// explainState answers POST /explain/state: the thread state the posted
// message's threading depends on (store.Snapshot), for an explain that
// runs another config's rules on the operator's side.
func (g *Gateway) explainState(w http.ResponseWriter, r *http.Request) {
	if k := badParams(r); k != "" {
		http.Error(w, "unknown parameter "+strconv.Quote(k), http.StatusBadRequest)
		return
	}
	raw, err := io.ReadAll(io.LimitReader(r.Body, g.Cfg.Get().SMTP.MaxMessageBytes+1))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	pm, _ := mailparse.Parse(bytes.NewReader(raw), mailparse.Limits{MaxTotalBytes: 1 << 20})
	if pm == nil {
		http.Error(w, "cannot parse the message", http.StatusBadRequest)
		return
	}
	ids := append(append([]string(nil), pm.InReplyTo...), pm.References...)
	task, _ := mailparse.TaskTag(pm.Subject)
	var snap *store.Snapshot
	if err := g.Store.View(func(tx *bolt.Tx) (err error) { snap, err = store.TakeSnapshot(tx, ids, task); return }); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(snap)
}

// dbCheck runs bbolt's consistency check on the live database.
func (g *Gateway) dbCheck(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	problems, err := g.Store.Check()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	for _, p := range problems {
		fmt.Fprintln(w, p)
	}
	if len(problems) == 0 {
		fmt.Fprintln(w, "ok")
	}
}

// dbBackup streams a consistent copy of the live database (one read
// transaction: writers go on meanwhile).
func (g *Gateway) dbBackup(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/octet-stream")
	if err := g.Store.Backup(w, func(n int64) { w.Header().Set("Content-Length", strconv.FormatInt(n, 10)) }); err != nil {
		g.Log.Error("backup failed", "err", err)
	}
}

// heldList answers GET /held for `supportgate held` while the gateway
// runs (the database is locked to the CLI then): one line per held job.
func (g *Gateway) heldList(w http.ResponseWriter, r *http.Request) {
	jobs, msgs, err := g.Store.HeldJobs()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	for _, l := range HeldLines(jobs, msgs) {
		fmt.Fprintln(w, l)
	}
}

// HeldLines are the lines `supportgate held` prints, one per held job.
func HeldLines(jobs []*store.Job, msgs []*store.Message) []string {
	var out []string
	for i, j := range jobs {
		from, rcpts, when := "?", "?", "?"
		if i < len(msgs) && msgs[i] != nil {
			m := msgs[i]
			from, rcpts, when = m.From, strings.Join(m.Rcpts, ","), m.Received.Format("2006-01-02 15:04:05")
		}
		out = append(out, fmt.Sprintf("%s  %s  from <%s> to %s: %s", j.MsgID, when, from, rcpts, j.LastError))
	}
	return out
}
