package gateway

import (
	"context"
	"net/http"

	bolt "go.etcd.io/bbolt"

	"supportgate/rules"
	"supportgate/store"
)

type storeTx = bolt.Tx

// planMore adds the jobs of the later stages (processing: auto-reply,
// task) to an accepted message.
func (g *Gateway) planMore(c *rules.Config, m *store.Message) []*store.Job { return nil }

// startMore starts the background parts of the later stages.
func (g *Gateway) startMore(ctx context.Context) {}

// moreRoutes adds the HTTP endpoints of the later stages.
func (g *Gateway) moreRoutes(mux *http.ServeMux) {}
