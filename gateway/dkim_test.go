package gateway

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/emersion/go-msgauth/dkim"
)

// With [dkim] set, what we send is signed, and the signature verifies
// against the published key.
func TestDKIMSignsReplies(t *testing.T) {
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	der, _ := x509.MarshalPKCS8PrivateKey(priv)
	keyFile := filepath.Join(t.TempDir(), "dkim.pem")
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600)
	e := newEnv(t, "[dkim]\ndomain = \"example.com\"\nselector = \"sg\"\nkey_file = \""+keyFile+"\"\n")
	if err := send(t, e.g.SMTPAddr(), "k@customer.test", []string{"support@example.com"}, plainMsg("k@customer.test", "support@example.com", "sign me", "x")); err != nil {
		t.Fatal(err)
	}
	e.smarthost.Wait(1, 5*time.Second)
	rs := replies(e)
	if len(rs) != 1 {
		t.Fatalf("%d replies", len(rs))
	}
	if !bytes.HasPrefix(rs[0].Data, []byte("DKIM-Signature:")) {
		t.Fatalf("reply not signed:\n%.300s", rs[0].Data)
	}
	vs, err := dkim.VerifyWithOptions(bytes.NewReader(rs[0].Data), &dkim.VerifyOptions{LookupTXT: func(name string) ([]string, error) {
		if name != "sg._domainkey.example.com" {
			t.Errorf("looked up %q", name)
		}
		return []string{"v=DKIM1; k=ed25519; p=" + base64.StdEncoding.EncodeToString(pub)}, nil
	}})
	if err != nil || len(vs) != 1 || vs[0].Err != nil || vs[0].Domain != "example.com" {
		t.Fatalf("verify: %v %+v", err, vs)
	}
	// The forwarded copy is the customer's, untouched: not signed by us.
	if up := e.upstream.Wait(1, 5*time.Second); len(up) != 1 || bytes.Contains(up[0].Data, []byte("DKIM-Signature")) {
		t.Errorf("forwarded copy signed or missing")
	}
}
