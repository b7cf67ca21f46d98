package rules

import (
	"strings"
	"testing"
	"time"
)

func TestIssue11Keys(t *testing.T) {
	c, err := Parse("t.toml", []byte(minimal+`
[bitrix]
folder_name = "Почта"
reopen_within = "48h"
thanks_words = ["merci"]
create_contacts = true
`))
	if err != nil {
		t.Fatal(err)
	}
	b := c.Bitrix
	if b.FolderName != "Почта" || b.ReopenWithin.D() != 48*time.Hour || len(b.ThanksWords) != 1 || !b.CreateContacts {
		t.Errorf("decoded %+v", b.BitrixIssue11)
	}
	d := Defaults().Bitrix
	if d.FolderName != "supportgate" || d.ReopenWithin.D() != 14*24*time.Hour || d.CreateContacts || len(d.ThanksWords) == 0 {
		t.Errorf("defaults %+v", d.BitrixIssue11)
	}
	_, err = Parse("t.toml", []byte(minimal+`
[bitrix]
folder_name = "a/b"
reopen_within = "-1h"
thanks_words = [" "]
`))
	for _, key := range []string{"bitrix.folder_name", "bitrix.reopen_within", "bitrix.thanks_words"} {
		if err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("error %v does not name %s", err, key)
		}
	}
}
