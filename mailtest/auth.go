package mailtest

import (
	"errors"

	"github.com/emersion/go-sasl"
)

// Auth accepts AUTH PLAIN with the configured credentials.
func (x *session) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, user, pass string) error {
		x.s.mu.Lock()
		defer x.s.mu.Unlock()
		if user != x.s.user || pass != x.s.pass {
			return errors.New("bad credentials")
		}
		x.authd = true
		return nil
	}), nil
}
