package bitrix

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
)

// FindContactByEmail looks the address up among CRM contacts
// (crm.duplicate.findbycomm, then crm.contact.get for the name, §6). No
// match is (0, "", nil). With several matches the oldest contact wins.
func (c *Client) FindContactByEmail(ctx context.Context, email string) (int64, string, error) {
	email = strings.TrimSpace(email)
	if email == "" {
		return 0, "", nil
	}
	params := map[string]any{"type": "EMAIL", "values": []string{email}, "entity_type": "CONTACT"}
	var raw json.RawMessage
	if _, err := c.call(ctx, "crm.duplicate.findbycomm", params, read, &raw); err != nil {
		return 0, "", err
	}
	if isEmptyPHP(raw) { // "result": [] means nothing found at all
		return 0, "", nil
	}
	var found struct {
		Contact []ID `json:"CONTACT"`
	}
	if err := json.Unmarshal(raw, &found); err != nil {
		return 0, "", &Error{Method: "crm.duplicate.findbycomm", Description: "unexpected result: " + err.Error(), HTTPStatus: 200}
	}
	found.Contact = slices.DeleteFunc(found.Contact, func(id ID) bool { return id <= 0 })
	if len(found.Contact) == 0 {
		return 0, "", nil
	}
	id := slices.Min(found.Contact)

	var contact struct {
		Name     flexString `json:"NAME"`
		LastName flexString `json:"LAST_NAME"`
	}
	if _, err := c.call(ctx, "crm.contact.get", map[string]any{"id": int64(id)}, read, &contact); err != nil {
		if IsNotFound(err) { // deleted between the two calls
			return 0, "", nil
		}
		return 0, "", err
	}
	name := strings.Join(strings.Fields(string(contact.Name)+" "+string(contact.LastName)), " ")
	return int64(id), name, nil
}
