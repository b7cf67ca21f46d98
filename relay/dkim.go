package relay

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/emersion/go-msgauth/dkim"

	"supportgate/rules"
)

// signedHeaders are the fields we sign; From, Subject, To and the
// threading fields are oversigned (listed twice) so nobody can add a
// second one after us (maddy's list, trimmed to what we write).
var signedHeaders = []string{
	"From", "From", "To", "To", "Cc", "Subject", "Subject", "Date", "Message-Id", "Message-Id",
	"In-Reply-To", "In-Reply-To", "References", "References", "Reply-To", "Reply-To",
	"Mime-Version", "Content-Type", "Content-Transfer-Encoding", "Auto-Submitted",
}

// signer holds the [dkim] key, re-read when the file changes.
type signer struct {
	mu    sync.Mutex
	path  string
	mtime time.Time
	key   crypto.Signer
}

// sign returns msg with a DKIM-Signature for [dkim] domain/selector, or
// msg unchanged when [dkim] is not set. A key that cannot be read is an
// error: sending unsigned mail from a domain that publishes a DKIM key
// would only make it fail DMARC (chasquid answers 451 for the same
// reason).
func (s *signer) sign(c *rules.Config, msg []byte) ([]byte, error) {
	if c.DKIM.Domain == "" {
		return msg, nil
	}
	key, err := s.load(c.DKIM.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("dkim.key_file: %w", err)
	}
	var out bytes.Buffer
	err = dkim.Sign(&out, bytes.NewReader(msg), &dkim.SignOptions{
		Domain: c.DKIM.Domain, Selector: c.DKIM.Selector, Signer: key,
		HeaderCanonicalization: dkim.CanonicalizationRelaxed,
		BodyCanonicalization:   dkim.CanonicalizationRelaxed,
		HeaderKeys:             signedHeaders,
	})
	if err != nil {
		return nil, fmt.Errorf("dkim sign: %w", err)
	}
	return out.Bytes(), nil
}

func (s *signer) load(path string) (crypto.Signer, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.key != nil && s.path == path && st.ModTime().Equal(s.mtime) {
		return s.key, nil
	}
	key, err := LoadDKIMKey(path)
	if err != nil {
		return nil, err
	}
	s.key, s.path, s.mtime = key, path, st.ModTime()
	return key, nil
}

// LoadDKIMKey reads a PEM private key: RSA (PKCS#1 or PKCS#8) or Ed25519
// (PKCS#8), as openssl and most key tools write them.
func LoadDKIMKey(path string) (crypto.Signer, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, errors.New("no PEM block")
	}
	if k, err := x509.ParsePKCS1PrivateKey(block.Bytes); err == nil {
		return k, nil
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("not an RSA or Ed25519 private key: %w", err)
	}
	sk, ok := k.(crypto.Signer)
	if !ok {
		return nil, errors.New("key cannot sign")
	}
	return sk, nil
}
