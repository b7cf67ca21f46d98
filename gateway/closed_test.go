package gateway

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"
)

// A customer answers a task completed a month ago: a new task linked to
// the old one, the thread moved to it, and an acknowledgement again that
// names the new number (the pipeline could not know it would be needed).
func TestFollowUpOnLongClosedTask(t *testing.T) {
	e, portal := newBitrixEnv(t)
	first := "From: anna@customer.test\r\nTo: support@example.com\r\nSubject: VPN\r\nMessage-ID: <c1@customer.test>\r\n\r\nVPN не работает.\r\n"
	if err := send(t, e.g.SMTPAddr(), "anna@customer.test", []string{"support@example.com"}, first); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return len(portal.Tasks()) == 1 && len(replies(e)) == 1 }, "task and acknowledgement")
	old := portal.Tasks()[0].ID
	portal.CloseTask(old, 5, time.Now().Add(-30*24*time.Hour))
	ah := header(t, replies(e)[0])
	ackID, _ := ah.MessageID()
	follow := "From: anna@customer.test\r\nTo: support@example.com\r\nSubject: Re: VPN\r\nMessage-ID: <c2@customer.test>\r\nIn-Reply-To: <" + ackID + ">\r\n\r\nСнова не работает.\r\n"
	if err := send(t, e.g.SMTPAddr(), "anna@customer.test", []string{"support@example.com"}, follow); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return len(portal.Tasks()) == 2 && len(replies(e)) == 2 }, "new task and a second acknowledgement")
	nt := portal.Tasks()[1]
	if fmt.Sprint(nt.Fields["PARENT_ID"]) != fmt.Sprint(old) || !strings.Contains(nt.Description, "Снова не работает") {
		t.Errorf("new task %+v", nt)
	}
	if !bytes.Contains(decodedHTML(t, replies(e)[1]), []byte(fmt.Sprint(nt.ID))) {
		t.Errorf("second acknowledgement does not name task %d", nt.ID)
	}
	if len(portal.Comments(old)) != 0 {
		t.Error("commented on the closed task")
	}
}
