package bitrix

import (
	"context"
	"encoding/json"
	"strings"
)

// User is the webhook's owner as user.current reports it (§6).
type User struct {
	ID       int64
	Name     string
	LastName string
	Email    string
}

// UnmarshalJSON reads user.current's UPPER_CASE, string-id shape.
func (u *User) UnmarshalJSON(b []byte) error {
	var w struct {
		ID       ID         `json:"ID"`
		Name     flexString `json:"NAME"`
		LastName flexString `json:"LAST_NAME"`
		Email    flexString `json:"EMAIL"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*u = User{ID: int64(w.ID), Name: string(w.Name), LastName: string(w.LastName), Email: string(w.Email)}
	return nil
}

// FullName joins first and last name.
func (u User) FullName() string {
	return strings.TrimSpace(u.Name + " " + u.LastName)
}

// CurrentUser returns the webhook's user. Every call runs as this user, so
// comments it authored are our own (loop prevention, §4.5). The answer is
// cached for the Client's lifetime once it succeeds.
func (c *Client) CurrentUser(ctx context.Context) (User, error) {
	c.meMu.Lock()
	defer c.meMu.Unlock()
	if c.me != nil {
		return *c.me, nil
	}
	var u User
	if _, err := c.call(ctx, "user.current", struct{}{}, read, &u); err != nil {
		return User{}, err
	}
	if u.ID <= 0 {
		return User{}, &Error{Method: "user.current", Description: "answer has no user id", HTTPStatus: 200}
	}
	c.me = &u
	return u, nil
}
