package rules

// The per-message decision: does this message get an auto-reply, and does
// it create a task, comment on one, or neither. Decide is a pure function
// of what the caller already knows (headers, envelope, thread match, rate
// counter, authentication verdict), so `explain` and the live path give the
// same answer and the table tests need no store, clock or network.
//
// Sources for every rule: docs/autoreply-rules.md §1 (rows 1-16) and the
// table of docs/CONTRACT.md §5. Where products disagree we pick:
//   - Auto-Submitted: any instance whose first token is not "no" is a robot
//     (FreeScout wrongly treats "no" as a robot, Zammad misses auto-notified).
//   - Precedence: only bulk/list/junk/auto_reply (Znuny wrongly takes any).
//   - X-Auto-Response-Suppress: only All/AutoReply stop us. Our reply is a
//     ticket acknowledgement, not an out-of-office notice, so OOF, DR, RN
//     do not apply (MS-OXCMAIL 2.1.3.2.20). It never costs a task: it rides
//     on ordinary mail from people.
//   - postmaster@ is a robot (docs/CONTRACT.md §5), although RFC 5230 §4.6 says it
//     is usually a human: in support mail it only ever sends reports.

import (
	"mime"
	"net/textproto"
	"strconv"
	"strings"
)

// Header is the read side of a message header. net/textproto.MIMEHeader and
// go-message's *textproto.Header / *mail.Header satisfy it; wrap a net/mail
// header in MapHeader. Values must return every instance of the field.
type Header interface {
	Values(key string) []string
}

// MapHeader adapts a map with canonical keys (net/mail.Header) to Header.
type MapHeader map[string][]string

// Values returns every instance of key; key is canonicalised first.
func (h MapHeader) Values(key string) []string {
	return h[textproto.CanonicalMIMEHeaderKey(key)]
}

// TaskAction is what happens in Bitrix24.
type TaskAction int

const (
	TaskNone    TaskAction = iota // nothing (robot outside a known thread, loop)
	TaskCreate                    // a new task
	TaskComment                   // a comment on the task of the known thread
)

func (t TaskAction) String() string {
	switch t {
	case TaskCreate:
		return "create"
	case TaskComment:
		return "comment"
	}
	return "none"
}

// AuthResult is the sender-authentication outcome the trust code computes
// (SPF/DKIM/DMARC); Decide only applies the policy to it.
type AuthResult int

const (
	AuthUnknown   AuthResult = iota // not checked, or nothing to check
	AuthPass                        // the envelope sender's domain is authenticated
	AuthFail                        // DMARC (or SPF without DMARC) fails
	AuthTempError                   // DNS trouble: never treated as pass
)

// AuthVerdict is the hook for the trust work: a result and why.
type AuthVerdict struct {
	Result AuthResult
	Reason string // free text for logs and explain, e.g. "dmarc=fail header.from=x"
	// Identity says whether the From address is proven (DMARC pass, or
	// SPF/DKIM aligned with From). Threading trusts a [#task] tag only
	// from a proven sender.
	Identity Identity
}

// Identity is whether a message's From address is proven to be its
// sender's.
type Identity int

const (
	IdentityUnchecked  Identity = iota // checks off ([auth] autoreply = "off"), or not run (explain without -ip)
	IdentityVerified                   // DMARC pass, or SPF/DKIM aligned with the From domain
	IdentityUnverified                 // checked, and not proven (failed, none, or DNS trouble)
)

func (i Identity) String() string {
	switch i {
	case IdentityVerified:
		return "verified"
	case IdentityUnverified:
		return "unverified"
	}
	return "unchecked"
}

// Input is everything known about one message when the decision is made.
type Input struct {
	// EnvelopeFrom is MAIL FROM without brackets; "" is the null sender.
	// For a stored .eml (explain), pass the Return-Path.
	EnvelopeFrom  string
	EnvelopeRcpts []string // RCPT TO addresses (our mailboxes)
	Header        Header   // the full header; may be nil

	FromAddr string   // address of the first From mailbox; "" when none
	ReplyTo  string   // first Reply-To address, if any
	To, Cc   []string // addresses only
	Subject  string   // decoded; when empty the raw Subject header is used

	// ContentType is the top-level media type ("multipart/report") and
	// ReportType its report-type parameter; when ContentType is empty both
	// come from the Content-Type header.
	ContentType string
	ReportType  string

	ThreadKnown         bool // continues a thread the gateway knows
	AnswersSpecialist   bool // replies to a specialist's / journaled message
	SenderRecentReplies int  // auto-replies sent to this sender in the window
	ClientRecentReplies int  // auto-replies caused by this client IP in the window
	Auth                AuthVerdict
}

// Auth policies (the [auth] autoreply key).
const (
	AuthPolicyPass    = "pass"     // reply only on AuthPass
	AuthPolicyNotFail = "not-fail" // no reply on AuthFail/AuthTempError (default)
	AuthPolicyOff     = "off"      // ignore the verdict
)

// DefaultMaxPerSender is the hourly auto-reply cap per sender.
const DefaultMaxPerSender = 3

// Policy is the admin's side of the decision, built from the config.
type Policy struct {
	OwnAddresses     []string // mailbox addresses, aliases, the gateway's From
	ExcludeDomains   []string // subdomains match too
	ExcludeAddresses []string
	TeamDomains      []string // our own staff's domains; never auto-replied
	// MaxPerSender caps replies per sender in the window: 0 means
	// DefaultMaxPerSender, negative means no cap.
	MaxPerSender int
	// MaxPerClient caps replies caused by one client IP in the window
	// (0: no cap).
	MaxPerClient int
	// ReplyToForwardedRules: mail a Microsoft 365 inbox rule forwarded is
	// stamped Auto-Submitted: auto-generated. It always gets a task; this
	// says whether it also gets the auto-reply.
	ReplyToForwardedRules bool
	LoopID                string // our X-Loop value; "" disables the check
	TrustSpamHeaders      bool   // an upstream scanner we trust writes X-Spam-*
	AuthPolicy            string // AuthPolicy*; "" = not-fail, unknown = pass
}

// Decision is the outcome. Reason is the first rule that stopped the reply,
// or ReasonReply.
type Decision struct {
	AutoReply bool
	Reason    string
	Task      TaskAction
	Robot     bool // machine-sent: no new task, only a comment in a known thread
}

// Decide applies the rules. Order matters only for which Reason is shown:
// loops first, then robots (they also decide the task), then reply-only stops.
func Decide(in Input, p Policy) Decision {
	h := in.Header
	if h == nil {
		h = MapHeader(nil)
	}
	subject := in.Subject
	if subject == "" {
		subject = firstValue(h, "Subject")
	}

	if isLoop(h, p) {
		// Our own output came back: no task, not even a comment.
		return Decision{Reason: ReasonLoop, Task: TaskNone, Robot: true}
	}

	forwarded := isRuleForwarded(h, subject)
	robot := robotReason(in, h, subject, forwarded)
	d := Decision{Task: TaskCreate, Robot: robot != ""}
	if in.ThreadKnown {
		d.Task = TaskComment
	} else if d.Robot {
		d.Task = TaskNone
	}
	if d.Robot {
		d.Reason = robot
		return d
	}
	d.Reason = replyStop(in, h, p, subject, forwarded)
	d.AutoReply = d.Reason == ""
	if d.AutoReply {
		d.Reason = ReasonReply
	}
	return d
}

// replyStop returns the first rule that stops the reply of a message from a
// person, or "".
func replyStop(in Input, h Header, p Policy, subject string, forwarded bool) string {
	switch {
	case forwarded && !p.ReplyToForwardedRules:
		return ReasonForwardedByRule
	case p.TrustSpamHeaders && isSpam(h):
		return ReasonSpam
	// A missing From or Message-ID is odd, but scripts, web forms and
	// test tools send such mail and their people still deserve an
	// answer: the reply goes to the envelope sender and simply has no
	// In-Reply-To. (Robots were caught above.)
	case isOwn(in.EnvelopeFrom, p.OwnAddresses) || isOwn(in.FromAddr, p.OwnAddresses):
		return ReasonOwnAddress
	case !forwarded && !isAddressed(in, h, p):
		// A rule-forwarded copy keeps the original To, so it is exempt.
		return ReasonNotAddressed
	case suppressesAutoReply(h):
		return ReasonXARS
	case isNoreply(in.EnvelopeFrom) || isNoreply(in.FromAddr) || isNoreply(in.ReplyTo):
		return ReasonNoreply
	case inDomains(in.EnvelopeFrom, p.ExcludeDomains) || inDomains(in.FromAddr, p.ExcludeDomains):
		return ReasonExcludedDomain
	case isOwn(in.EnvelopeFrom, p.ExcludeAddresses) || isOwn(in.FromAddr, p.ExcludeAddresses):
		return ReasonExcludedAddress
	case inDomains(in.EnvelopeFrom, p.TeamDomains) || inDomains(in.FromAddr, p.TeamDomains):
		return ReasonTeam
	case in.AnswersSpecialist: // the more telling of the two when both hold
		return ReasonAnswersSpecialist
	case in.ThreadKnown:
		return ReasonKnownThread
	case isAutoSubject(subject):
		return ReasonAutoSubject
	}
	if r := authStop(in.Auth, p.AuthPolicy); r != "" {
		return r
	}
	max := p.MaxPerSender
	if max == 0 {
		max = DefaultMaxPerSender
	}
	if max > 0 && in.SenderRecentReplies >= max {
		return ReasonRateLimit
	}
	if p.MaxPerClient > 0 && in.ClientRecentReplies >= p.MaxPerClient {
		return ReasonClientRateLimit
	}
	return ""
}

// authStop applies the [auth] autoreply policy to the verdict.
func authStop(v AuthVerdict, policy string) string {
	switch strings.ToLower(strings.TrimSpace(policy)) {
	case AuthPolicyOff:
		return ""
	case AuthPolicyNotFail, "":
		switch v.Result {
		case AuthFail:
			return ReasonAuthFail
		case AuthTempError:
			return ReasonAuthTempError
		}
		return ""
	}
	// "pass", and any unknown spelling: the strict choice is the safe one.
	switch v.Result {
	case AuthPass:
		return ""
	case AuthTempError:
		return ReasonAuthTempError
	case AuthFail:
		return ReasonAuthFail
	}
	return ReasonAuthNone
}

// mediaType returns the message's media type and report-type, lower case.
func mediaType(in Input, h Header) (string, string) {
	if in.ContentType != "" {
		return strings.ToLower(in.ContentType), strings.ToLower(in.ReportType)
	}
	v := firstValue(h, "Content-Type")
	if v == "" {
		return "", ""
	}
	mt, params, err := mime.ParseMediaType(v)
	if err != nil {
		// A broken parameter list must not hide the type itself.
		mt, _, _ = strings.Cut(v, ";")
		return strings.ToLower(strings.TrimSpace(mt)), ""
	}
	return mt, strings.ToLower(params["report-type"])
}

func firstValue(h Header, key string) string {
	if vs := h.Values(key); len(vs) > 0 {
		return vs[0]
	}
	return ""
}

func hasAny(h Header, keys []string) bool {
	for _, k := range keys {
		if len(h.Values(k)) > 0 {
			return true
		}
	}
	return false
}

// firstToken is the leading keyword of a structured value:
// "auto-replied (vacation)" and "Auto-Replied; owner-email=x" give
// "auto-replied" (compare it with strings.EqualFold).
func firstToken(v string) string {
	v = strings.TrimSpace(v)
	if i := strings.IndexAny(v, " \t;(,"); i >= 0 {
		v = v[:i]
	}
	return v
}

func atoiOr(s string, def int) int {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return def
	}
	return n
}
