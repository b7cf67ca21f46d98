package bitrix

import (
	"context"
	"errors"
	"strings"
)

// Contact is the part of a CRM contact supportgate uses.
type Contact struct {
	ID        int64
	Name      string
	CompanyID int64
}

// GetContact reads a CRM contact (crm.contact.get, docs/bitrix24.md §6);
// a missing one is (nil, nil).
func (c *Client) GetContact(ctx context.Context, id int64) (*Contact, error) {
	var w struct {
		Name      flexString `json:"NAME"`
		LastName  flexString `json:"LAST_NAME"`
		CompanyID ID         `json:"COMPANY_ID"`
	}
	if _, err := c.call(ctx, "crm.contact.get", map[string]any{"id": id}, read, &w); err != nil {
		if IsNotFound(err) {
			return nil, nil
		}
		return nil, err
	}
	return &Contact{ID: id, Name: strings.Join(strings.Fields(string(w.Name)+" "+string(w.LastName)), " "),
		CompanyID: int64(w.CompanyID)}, nil
}

// CompanyTitle is the name (TITLE) of CRM company id (crm.company.get,
// §6); a missing one is "".
func (c *Client) CompanyTitle(ctx context.Context, id int64) (string, error) {
	var w struct {
		Title flexString `json:"TITLE"`
	}
	if _, err := c.call(ctx, "crm.company.get", map[string]any{"id": id}, read, &w); err != nil {
		if IsNotFound(err) {
			return "", nil
		}
		return "", err
	}
	return strings.TrimSpace(string(w.Title)), nil
}

// AddContact makes a CRM contact for an e-mail sender (crm.contact.add,
// §6): the display name split into NAME and LAST_NAME, the address as a
// WORK e-mail, source "EMAIL". Not retried on an unknown outcome: look
// with FindContactByEmail first.
func (c *Client) AddContact(ctx context.Context, email, name string) (int64, error) {
	email = strings.TrimSpace(email)
	if email == "" {
		return 0, errors.New("bitrix crm.contact.add: e-mail required")
	}
	first, last, _ := strings.Cut(strings.Join(strings.Fields(name), " "), " ")
	if first == "" {
		first = email // a contact needs a name; the address is what we know
	}
	fields := map[string]any{
		"NAME": first, "LAST_NAME": last, "SOURCE_ID": "EMAIL", "OPENED": "Y",
		"EMAIL": []map[string]string{{"VALUE": email, "VALUE_TYPE": "WORK"}},
	}
	var id ID
	if _, err := c.call(ctx, "crm.contact.add", map[string]any{"fields": fields}, create, &id); err != nil {
		return 0, err
	}
	if id <= 0 {
		return 0, &AmbiguousError{Method: "crm.contact.add",
			Err: &Error{Method: "crm.contact.add", Description: "answer has no contact id", HTTPStatus: 200}}
	}
	return int64(id), nil
}
