package tracker

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"testing"

	"supportgate/bitrix"
	"supportgate/rules"
	"supportgate/store"
)

// A contact with a company: the task links both and names the company.
func TestContactWithCompany(t *testing.T) {
	e := newEnv(t, nil, bitrix.Options{})
	co := e.portal.AddCompany("ООО «Ромашка»")
	ct := e.portal.AddContact("anna@customer.test", "Anna Petrova")
	e.portal.LinkCompany(ct, co)
	_, task := e.started()
	tk, _ := e.portal.Task(task)
	if !slices.Contains(tk.CRM, "C_"+itoa(ct)) || !slices.Contains(tk.CRM, "CO_"+itoa(co)) {
		t.Errorf("UF_CRM_TASK %v", tk.CRM)
	}
	if !strings.Contains(tk.Description, "[B]Организация:[/B] ООО «Ромашка»") {
		t.Errorf("description:\n%s", tk.Description)
	}
}

// create_contacts: the first mail of an unknown sender makes one contact
// (even though the add's answer was lost once), the second reuses it; an
// unverified thread makes none.
func TestCreateContacts(t *testing.T) {
	e := newEnv(t, func(c *rules.Config) { c.Bitrix.CreateContacts = true }, bitrix.Options{})
	e.portal.CreateThenTimeout("crm.contact.add")
	raw := buildMail("Boris Ivanov <boris@new.test>", "Вопрос", "c1@new.test", "", "первое")
	e.newThread(raw, "boris@new.test", "Boris Ivanov")
	e.idle()
	raw = buildMail("Boris Ivanov <boris@new.test>", "Другой вопрос", "c2@new.test", "", "второе")
	e.newThread(raw, "boris@new.test", "Boris Ivanov")
	e.idle()
	contacts := e.portal.Contacts()
	if len(contacts) != 1 || contacts[0].Name != "Boris" || contacts[0].LastName != "Ivanov" ||
		contacts[0].SourceID != "EMAIL" || !slices.Equal(contacts[0].Emails, []string{"boris@new.test"}) {
		t.Fatalf("contacts %+v", contacts)
	}
	for _, tk := range e.portal.Tasks() {
		if !slices.Contains(tk.CRM, "C_"+itoa(contacts[0].ID)) {
			t.Errorf("task %d CRM %v", tk.ID, tk.CRM)
		}
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// An unverified thread's From is the sender's word: no contact is made.
func TestCreateContactsNotForUnverified(t *testing.T) {
	e := newEnv(t, func(c *rules.Config) { c.Bitrix.CreateContacts = true }, bitrix.Options{})
	c, err := e.tr.bx()
	if err != nil {
		t.Fatal(err)
	}
	cr := &creation{ContactDone: true}
	th := &store.Thread{ID: "x", Requester: "victim@customer.test", Unverified: true}
	if err := e.tr.crmExtras(context.Background(), c, e.cfg.Get(), th, cr, func() error { return nil }); err != nil || cr.Contact != 0 {
		t.Fatalf("contact %d, %v", cr.Contact, err)
	}
	if n := len(e.portal.Contacts()); n != 0 {
		t.Errorf("%d contacts made for an unverified sender", n)
	}
}
