package gateway

import (
	"errors"
	"net/http"

	"supportgate/rules"
	"supportgate/store"
	"supportgate/webform"
)

// setupWebform builds the web-form channel. Its appeals are accepted by
// the SMTP server's Submit: the same spool, commit and first jobs as
// DATA (the server is made after the stages, hence the closure).
func (g *Gateway) setupWebform() error {
	h, err := webform.New(g.Cfg, g.Store, func(m *store.Message, helo, proto string, body []byte) error {
		return g.SMTP.Submit(m, helo, proto, body)
	}, g.Log)
	if err != nil {
		return err
	}
	g.Webform = h
	return nil
}

// webformRoutes serves the page at [webform] path and POST /intake on
// the [http] listener.
func (g *Gateway) webformRoutes(mux *http.ServeMux) {
	g.Webform.Routes(mux)
}

// reloadWebform loads the new page template. The routes were made at
// start, so a new path needs a restart (enabled takes effect at once).
func (g *Gateway) reloadWebform(c *rules.Config) error {
	if old := g.Cfg.Get(); old.Webform.Path != c.Webform.Path {
		g.Log.Warn("changed key takes effect only after a restart", "key", "webform.path")
	}
	return g.Webform.Reload(c)
}

// noWebDSN: a web appeal whose forward fails gets no DSN. The person sent
// no mail (a bounce would puzzle them, and the typed address is
// unverified), and the appeal is not lost: its task and acknowledgement
// are jobs of their own. The failure is ours and stays in the log.
func noWebDSN(m *store.Message) error {
	if m.Channel == "web" {
		return errors.New("no DSN for a web-form appeal: the forward failed on our side; the task and the acknowledgement go on")
	}
	return nil
}
