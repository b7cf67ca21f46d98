package gateway

import (
	"io"
	"net"
	"net/http"

	bolt "go.etcd.io/bbolt"

	"supportgate/pipeline"
	"supportgate/rules"
)

// explain serves POST /explain for `supportgate explain`, which cannot
// open the database while the gateway holds it: the dry run then sees the
// live thread state. Loopback only: the HTTP listener may face the
// internet for Bitrix24's events, and thread state is not for strangers.
func (g *Gateway) explain(w http.ResponseWriter, r *http.Request) {
	host, _, _ := net.SplitHostPort(r.RemoteAddr)
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		http.Error(w, "explain is served on loopback only", http.StatusForbidden)
		return
	}
	c := g.Cfg.Get()
	// The rules are those of the file the admin names (a copy being
	// tried out, perhaps); the threads are the live ones.
	if p := r.URL.Query().Get("config"); p != "" && p != c.Path {
		other, err := rules.Load(p)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		c = other
	}
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
