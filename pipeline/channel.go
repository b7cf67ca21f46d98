package pipeline

import (
	"log/slog"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"supportgate/mailparse"
	"supportgate/rules"
	"supportgate/store"
)

// ChannelWeb is a web-form appeal (docs/CONTRACT.md "[webform]"). The
// channel is the message record's, set by the gateway when it made the
// message; a header saying so in mail from outside counts for nothing.
const ChannelWeb = "web"

// webAuth is the sender check of a web appeal: SPF, DKIM and DMARC are
// about mail servers, and there is none (a browser posted it). Not
// applicable is not a failure; the typed address is unverified, so its
// acknowledgement is capped per address and per client IP instead.
func webAuth() rules.AuthVerdict {
	return rules.AuthVerdict{Result: rules.AuthPass, Reason: "not applicable: web form (address unverified; replies capped per address and client IP)"}
}

// webReplyCapped counts an acknowledgement to a web appeal (message
// msgID) against its client IP ([webform] max_replies_per_ip per
// [autoreply] window), in the transaction that would queue it, and
// reports whether the cap is reached. Mail is not counted here.
func webReplyCapped(tx *bolt.Tx, c *rules.Config, msgID string) (bool, error) {
	if c.Webform.MaxRepliesPerIP <= 0 {
		return false, nil
	}
	m, err := store.GetMessage(tx, msgID)
	if err != nil || m == nil || m.Channel != ChannelWeb || m.ClientIP == "" {
		return false, err
	}
	n, err := store.CountRecent(tx, "arip:web:"+m.ClientIP+":", time.Now().Add(-c.Autoreply.Window.D()), true)
	return n >= c.Webform.MaxRepliesPerIP, err
}

// markChannel puts a new thread's channel and consent record on it, for
// the task's fields and text.
func markChannel(t *store.Thread, m *store.Message) {
	if t.Channel == "" && m.Channel != "" {
		t.Channel, t.Consent = m.Channel, m.Consent
	}
}

// withChannel names a web appeal's channel in its log lines.
func withChannel(log *slog.Logger, m *store.Message) *slog.Logger {
	if m.Channel == "" {
		return log
	}
	return log.With("channel", m.Channel)
}

// explainChannel is the channel explain reports for a message file: a
// dry run has no record, so a web appeal's own header names it.
func explainChannel(pm *mailparse.Message, m *store.Message) string {
	if strings.EqualFold(strings.TrimSpace(pm.Header.Get("X-Supportgate-Channel")), ChannelWeb) {
		m.Channel = ChannelWeb
		return "web (the X-Supportgate-Channel header of a web-form appeal; sender authentication not applicable)"
	}
	return "mail"
}
