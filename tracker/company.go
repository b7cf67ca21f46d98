package tracker

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"supportgate/bitrix"
	"supportgate/rules"
	"supportgate/store"
)

// crmProgress is the CRM part of a task's creation beyond the contact
// lookup (issue 11): the contact made for an unknown sender, and the
// contact's company.
type crmProgress struct {
	// ContactSent is when crm.contact.add was first sent; a retry looks
	// the address up again before sending another.
	ContactSent time.Time `json:"contact_sent,omitzero"`
	Created     bool      `json:"contact_created,omitempty"`
	Company     int64     `json:"company,omitempty"`
	CompanyName string    `json:"company_name,omitempty"`
	CompanyDone bool      `json:"company_done,omitempty"`
}

// crmExtras runs after the contact lookup: [bitrix] create_contacts makes
// an unknown sender a CRM contact (never for an unverified thread: its
// From is only what the sender wrote), and a contact's company
// (COMPANY_ID, crm.company.get, docs/bitrix24.md §6) is linked too. A
// failure here never stops the task: it is logged and the task goes
// without.
func (t *Tracker) crmExtras(ctx context.Context, c *bitrix.Client, cfg *rules.Config, th *store.Thread, cr *creation, save func() error) error {
	if cr.Contact == 0 && cfg.Bitrix.CreateContacts && !th.Unverified && th.Requester != "" && !cr.Created {
		id, err := t.createContact(ctx, c, th, cr, save)
		switch {
		case err == nil:
			cr.Contact = id
		case bitrix.IsRetryable(err) || errors.Is(err, bitrix.ErrAmbiguous):
			return remoteErr("crm.contact.add", err) // looked up again before another add
		default:
			t.log.Warn("CRM contact not made; task made without a contact", "thread", th.ID, "err", err)
		}
		cr.Created = true
		if err := save(); err != nil {
			return err
		}
	}
	if cr.Contact > 0 && !cr.CompanyDone {
		ct, err := c.GetContact(ctx, cr.Contact)
		if err == nil && ct != nil && ct.CompanyID > 0 {
			cr.Company = ct.CompanyID
			cr.CompanyName, err = c.CompanyTitle(ctx, ct.CompanyID)
		}
		if err != nil {
			if bitrix.IsRetryable(err) {
				return remoteErr("crm company", err)
			}
			t.log.Warn("CRM company unknown; task made without it", "thread", th.ID, "err", err)
		}
		cr.CompanyDone = true
		if err := save(); err != nil {
			return err
		}
	}
	return nil
}

// createContact makes the sender's contact once: after a send whose
// outcome is unknown the address is looked up (not from the learned
// cache) before anything is sent again.
func (t *Tracker) createContact(ctx context.Context, c *bitrix.Client, th *store.Thread, cr *creation, save func() error) (int64, error) {
	if !cr.ContactSent.IsZero() {
		id, _, err := c.FindContactByEmail(ctx, th.Requester)
		if err != nil || id > 0 {
			if id > 0 {
				t.learn(c, th.Requester, id, th.RequesterName)
			}
			return id, err
		}
	}
	cr.ContactSent = time.Now()
	if err := save(); err != nil {
		return 0, err
	}
	id, err := c.AddContact(ctx, th.Requester, th.RequesterName)
	if err != nil {
		return 0, err
	}
	t.log.Info("CRM contact made for the sender", "thread", th.ID, "contact", id)
	t.learn(c, th.Requester, id, th.RequesterName) // the next task and greeting find it
	return id, nil
}

// withCompany links the contact's company (CO_<id>) and names it under
// the sender line of the description.
func withCompany(f bitrix.TaskFields, cr *creation) bitrix.TaskFields {
	if cr.Company <= 0 {
		return f
	}
	f.CRM = append(f.CRM, "CO_"+strconv.FormatInt(cr.Company, 10))
	if cr.CompanyName == "" {
		return f
	}
	line := "[B]Организация:[/B] " + escapeBBCode(cr.CompanyName) + "\n"
	if i := strings.Index(f.Description, "[B]От:[/B] "); i >= 0 {
		if j := strings.IndexByte(f.Description[i:], '\n'); j >= 0 {
			f.Description = f.Description[:i+j+1] + line + f.Description[i+j+1:]
			return f
		}
	}
	f.Description = line + f.Description
	return f
}
