package webform

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strconv"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"supportgate/store"
)

// The page's post carries a signed token: when the form was served and a
// nonce, with an HMAC over both. The same nonce is in a cookie. A post
// whose token is unsigned, or whose nonce is neither the cookie's nor
// vouched for by an Origin of our own host, is not from our page in this
// browser (CSRF: another site can neither read our cookie, forge our
// signature, nor send our Origin), and the time gives the minimum fill
// time. Sites in [webform] allowed_origins post without a token: the
// browser's Origin header, which a page cannot forge, vouches for them.

var bucketWebform = []byte("webform")

// cookieName holds the nonce of the form's token.
const cookieName = "sg_form"

// tokenField is the hidden field of the token.
const tokenField = "_token"

// maxFormAge: a form older than this is expired (the person is shown the
// form again, input kept, and sends it once more).
const maxFormAge = 24 * time.Hour

// loadKey reads the HMAC key from the store, making it the first time.
func loadKey(st *store.Store) ([]byte, error) {
	var key []byte
	err := st.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucketWebform)
		if err != nil {
			return err
		}
		if k := b.Get([]byte("hmac-key")); len(k) == 32 {
			key = append([]byte(nil), k...)
			return nil
		}
		key = make([]byte, 32)
		rand.Read(key)
		return b.Put([]byte("hmac-key"), key)
	})
	return key, err
}

func newNonce() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func (h *Handler) mac(ts, nonce string) string {
	m := hmac.New(sha256.New, h.key)
	m.Write([]byte("form|" + ts + "|" + nonce))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// issue makes a token for nonce, stamped now.
func (h *Handler) issue(nonce string, now time.Time) string {
	ts := strconv.FormatInt(now.UnixMilli(), 10)
	return "v1." + ts + "." + nonce + "." + h.mac(ts, nonce)
}

// verify checks a token's signature and returns its nonce and time.
func (h *Handler) verify(tok string) (nonce string, at time.Time, ok bool) {
	p := strings.Split(tok, ".")
	if len(p) != 4 || p[0] != "v1" {
		return "", time.Time{}, false
	}
	if !hmac.Equal([]byte(p[3]), []byte(h.mac(p[1], p[2]))) {
		return "", time.Time{}, false
	}
	ms, err := strconv.ParseInt(p[1], 10, 64)
	if err != nil {
		return "", time.Time{}, false
	}
	return p[2], time.UnixMilli(ms), true
}
