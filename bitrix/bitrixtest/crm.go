package bitrixtest

import (
	"slices"
	"strings"
)

func init() {
	methods["crm.duplicate.findbycomm"] = crmFindByComm
	methods["crm.contact.get"] = crmContactGet
}

// crmFindByComm: errors use the message as the code; "result": [] when
// nothing at all is found (§6).
func crmFindByComm(c *call) (any, *apiError) {
	tv, _ := c.params.getFold("type")
	typ, _ := toString(tv)
	if typ != "EMAIL" && typ != "PHONE" {
		return nil, &apiError{400, "Communication type is not defined", "Communication type is not defined."}
	}
	vv, _ := c.params.getFold("values")
	values := toList(vv)
	if len(values) == 0 {
		return nil, &apiError{400, "Communication values is not defined", "Communication values is not defined."}
	}
	if len(values) > 20 {
		return nil, &apiError{400, "Too many communication values", "Too many communication values."}
	}
	ev, _ := c.params.getFold("entity_type")
	et, _ := toString(ev)
	if et != "" && et != "CONTACT" && et != "LEAD" && et != "COMPANY" {
		return nil, &apiError{400, "Entity type is not supported", "Entity type is not supported."}
	}
	if typ != "EMAIL" || (et != "" && et != "CONTACT") {
		return []any{}, nil // we only model contacts with e-mails
	}
	var ids []int64
	for id, ct := range c.p.contacts {
		for _, e := range ct.Emails {
			if slices.ContainsFunc(values, func(v string) bool { return strings.EqualFold(strings.TrimSpace(v), e) }) {
				ids = append(ids, id)
				break
			}
		}
	}
	if len(ids) == 0 {
		return []any{}, nil
	}
	slices.Sort(ids)
	return map[string]any{"CONTACT": ids}, nil
}

// companyID: the portal sends null for a contact without a company.
func companyID(id int64) any {
	if id <= 0 {
		return nil
	}
	return strconvI(id)
}

func crmContactGet(c *call) (any, *apiError) {
	v, _ := c.params.getFold("id")
	id, ok := toInt(v)
	if !ok || id <= 0 {
		return nil, &apiError{400, "", "ID is not defined or invalid."}
	}
	ct := c.p.contacts[id]
	if ct == nil {
		return nil, &apiError{400, "", "Not found"}
	}
	emails := []any{}
	for i, e := range ct.Emails {
		emails = append(emails, map[string]any{"ID": strconvI(id*10 + int64(i)), "VALUE_TYPE": "WORK", "VALUE": e, "TYPE_ID": "EMAIL"})
	}
	hasEmail := "N"
	if len(emails) > 0 {
		hasEmail = "Y"
	}
	return map[string]any{"ID": strconvI(id), "NAME": ct.Name, "SECOND_NAME": nil, "LAST_NAME": ct.LastName,
		"HAS_EMAIL": hasEmail, "ASSIGNED_BY_ID": strconvI(c.p.userID), "EMAIL": emails,
		"COMPANY_ID": companyID(ct.CompanyID), "SOURCE_ID": ct.SourceID}, nil
}
