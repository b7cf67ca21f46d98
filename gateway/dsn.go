package gateway

import (
	"supportgate/relay"
	"supportgate/rules"
	"supportgate/store"
)

// makeDSN composes the failure notice for a forward given up on.
func makeDSN(cfg *rules.Config, m *store.Message, header []byte, failed []relay.RcptFailure) ([]byte, error) {
	return nil, nil
}
