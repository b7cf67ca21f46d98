package gateway

import (
	"context"
	"net/http"

	bolt "go.etcd.io/bbolt"

	"supportgate/pipeline"
	"supportgate/rules"
	"supportgate/store"
)

type storeTx = bolt.Tx

// setupStages builds the stages after the 250: processing and auto-reply
// (pipeline), Bitrix24 (tracker).
func (g *Gateway) setupStages() error {
	p, err := pipeline.New(g.Cfg, g.Store, g.Runner, g.Log, g.tasks())
	if err != nil {
		return err
	}
	p.Register()
	g.Pipeline = p
	return nil
}

// planMore adds the process job to an accepted message.
func (g *Gateway) planMore(c *rules.Config, m *store.Message) []*store.Job {
	return g.Pipeline.Plan(c, m)
}

// startMore starts the background parts of the later stages.
func (g *Gateway) startMore(ctx context.Context) {}

// moreRoutes adds the HTTP endpoints of the later stages.
func (g *Gateway) moreRoutes(mux *http.ServeMux) {}

// tasks is the Bitrix24 side, nil until configured.
func (g *Gateway) tasks() pipeline.Tasks { return nil }

// reloadStages applies a new config to the stages; an error refuses the
// reload.
func (g *Gateway) reloadStages(c *rules.Config) error { return g.Pipeline.Reload(c) }
