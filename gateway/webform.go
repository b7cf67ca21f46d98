package gateway

import (
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

func (g *Gateway) reloadWebform(c *rules.Config) error { return g.Webform.Reload(c) }
