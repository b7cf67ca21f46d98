package senderauth_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"time"

	"supportgate/senderauth"
)

// How the gateway uses the package for one message in DATA.
func Example() {
	c := senderauth.New(senderauth.Options{
		Resolver:   "127.0.0.1:53", // [auth] resolver; "" = the system's
		Timeout:    3 * time.Second,
		AuthservID: "mx.example.com", // [smtp] hostname
	})
	spool := "/var/lib/supportgate/spool/1.eml"
	r := c.Check(context.Background(), senderauth.Input{
		IP:       net.ParseIP("192.0.2.10"),
		Helo:     "mail.example.org",
		MailFrom: "alice@example.org",
		Message:  func() (io.Reader, error) { return os.Open(spool) },
	})

	// Forward with forged fields of ours removed and our own on top:
	//   header = senderauth.StripOwnResults(header, "mx.example.com")
	//   forwarded = r.Header("") + header + body
	if allow, reason := senderauth.Verdict(r, "not-fail"); !allow {
		fmt.Println("no auto-reply:", reason, r.Reasons)
	}
}
