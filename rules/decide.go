package rules

// The per-message decision: does this message get an auto-reply, and does
// it create a task, comment on one, or neither. Decide is a pure function
// of what the caller already knows (headers, envelope, thread match, rate
// counter, authentication verdict), so `explain` and the live path give the
// same answer and the table tests need no store, clock or network.
//
// Sources for every rule: shared/reference/autoreply-and-threading.md §1
// (rows 1-16) and the CONTRACT.md table. Where products disagree we pick:
//   - Auto-Submitted: any instance whose first token is not "no" is a robot
//     (FreeScout wrongly treats "no" as a robot, Zammad misses auto-notified).
//   - Precedence: only bulk/list/junk/auto_reply (Znuny wrongly takes any).
//   - X-Auto-Response-Suppress: only All/AutoReply stop us. Our reply is a
//     ticket acknowledgement, not an out-of-office notice, so OOF, DR, RN
//     do not apply (MS-OXCMAIL 2.1.3.2.20). It never costs a task: it rides
//     on ordinary mail from people.
//   - postmaster@ is a robot (CONTRACT.md), although RFC 5230 §4.6 says it
//     is usually a human: in support mail it only ever sends reports.

import (
	"mime"
	"net/mail"
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
	case in.ThreadKnown:
		return ReasonKnownThread
	case in.AnswersSpecialist:
		return ReasonAnswersSpecialist
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

// Reason codes. They are stable: logs, metrics labels and explain use them.
const (
	ReasonReply             = "reply"
	ReasonLoop              = "loop"
	ReasonNullSender        = "null-sender"
	ReasonReport            = "report"
	ReasonAutoSubmitted     = "auto-submitted"
	ReasonPrecedence        = "precedence"
	ReasonList              = "list"
	ReasonRobotSender       = "robot-sender"
	ReasonVendorAutoreply   = "vendor-autoreply"
	ReasonForwardedByRule   = "forwarded-by-rule"
	ReasonSpam              = "spam"
	ReasonOwnAddress        = "own-address"
	ReasonNotAddressed      = "not-addressed"
	ReasonXARS              = "x-auto-response-suppress"
	ReasonNoreply           = "noreply-sender"
	ReasonExcludedDomain    = "excluded-domain"
	ReasonExcludedAddress   = "excluded-address"
	ReasonTeam              = "team-sender"
	ReasonKnownThread       = "known-thread"
	ReasonAnswersSpecialist = "answers-specialist"
	ReasonAutoSubject       = "auto-subject"
	ReasonAuthFail          = "auth-fail"
	ReasonAuthTempError     = "auth-temperror"
	ReasonAuthNone          = "auth-none"
	ReasonRateLimit         = "rate-limit"
)

// ReasonInfo describes one reason code.
type ReasonInfo struct {
	Code    string
	Robot   bool // the rule marks the sender a robot (no new task)
	Meaning string
}

// Reasons lists every code Decide can return, in evaluation order, with a
// one-line meaning for the README, explain and metrics help.
var Reasons = []ReasonInfo{
	{ReasonLoop, true, "our own X-Loop marker or over 100 Received fields: our mail came back; no task, no reply"},
	{ReasonNullSender, true, "null envelope sender (MAIL FROM:<>): bounces and reports; a reply would go nowhere"},
	{ReasonReport, true, "delivery/read/feedback report (multipart/report, X-Failed-Recipients, DMARC aggregate)"},
	{ReasonAutoSubmitted, true, "Auto-Submitted is present with a value other than \"no\" (RFC 3834)"},
	{ReasonPrecedence, true, "Precedence or X-Precedence is bulk, list, junk or auto_reply"},
	{ReasonList, true, "mailing-list headers (List-Id, List-Unsubscribe and the other List-*, Mailing-List)"},
	{ReasonRobotSender, true, "system sender: MAILER-DAEMON, postmaster, LISTSERV, majordomo, owner-*, *-request"},
	{ReasonVendorAutoreply, true, "vendor auto-reply marker: X-Autoreply, X-Autorespond, X-Autogenerated: Reply and kin"},
	{ReasonForwardedByRule, false, "forwarded by a Microsoft 365 inbox rule and replies to such mail are off; task still made"},
	{ReasonSpam, false, "a trusted upstream scanner flagged the message as spam or infected"},
	{ReasonOwnAddress, false, "the sender is one of our own addresses"},
	{ReasonNotAddressed, false, "none of our addresses is in To/Cc/Bcc/Resent-*: a Bcc'd copy, list or alias expansion"},
	{ReasonXARS, false, "X-Auto-Response-Suppress asks for no auto-replies (All or AutoReply)"},
	{ReasonNoreply, false, "noreply-style sender (noreply@, no-reply@, do-not-reply@, bounces@)"},
	{ReasonExcludedDomain, false, "sender domain (or a parent domain) is in rules.exclude_domains"},
	{ReasonExcludedAddress, false, "sender address is in rules.exclude_addresses"},
	{ReasonTeam, false, "sender is in one of the team's own domains"},
	{ReasonKnownThread, false, "the message continues a known thread: it becomes a comment, not a new request"},
	{ReasonAnswersSpecialist, false, "the message answers a specialist's own mail"},
	{ReasonAutoSubject, false, "the subject looks automatic (Automatic reply, Out of Office, Автоответ, ...)"},
	{ReasonAuthFail, false, "sender authentication failed (SPF/DKIM/DMARC): the sender may be forged"},
	{ReasonAuthTempError, false, "sender authentication hit a temporary DNS error; never treated as pass"},
	{ReasonAuthNone, false, "auth policy \"pass\" and the sender was not authenticated"},
	{ReasonRateLimit, false, "this sender already got the maximum auto-replies in the window"},
	{ReasonReply, false, "no rule stopped it: the sender gets the auto-reply"},
}

// isLoop reports our own mail coming back. Delivered-To is deliberately not
// used: behind a provider that delivers to the mailbox and forwards to us,
// every message would carry our address there and be dropped.
func isLoop(h Header, p Policy) bool {
	if p.LoopID != "" {
		for _, v := range h.Values("X-Loop") {
			if strings.EqualFold(strings.TrimSpace(v), strings.TrimSpace(p.LoopID)) {
				return true
			}
		}
	}
	return len(h.Values("Received")) >= 100 // RFC 5321 §6.3
}

var listHeaders = []string{
	"List-Id", "List-Help", "List-Subscribe", "List-Unsubscribe", "List-Post",
	"List-Owner", "List-Archive", "Mailing-List", "X-Mailing-List", "X-Mailman-Version",
}

// robotReason returns why the message is machine-sent, or "".
func robotReason(in Input, h Header, subject string, forwarded bool) string {
	if addrTrim(in.EnvelopeFrom) == "" {
		return ReasonNullSender
	}
	if isReport(in, h, subject) {
		return ReasonReport
	}
	if !forwarded && autoSubmitted(h) {
		return ReasonAutoSubmitted
	}
	for _, k := range []string{"Precedence", "X-Precedence"} {
		for _, v := range h.Values(k) {
			switch strings.ToLower(firstToken(v)) {
			case "bulk", "list", "junk", "auto_reply":
				return ReasonPrecedence
			}
		}
	}
	if hasAny(h, listHeaders) {
		return ReasonList
	}
	if isRobotSender(in.EnvelopeFrom) || isRobotSender(in.FromAddr) {
		return ReasonRobotSender
	}
	if vendorAutoreply(h) {
		return ReasonVendorAutoreply
	}
	return ""
}

func isReport(in Input, h Header, subject string) bool {
	mt, _ := mediaType(in, h)
	switch mt {
	case "multipart/report", "message/delivery-status", "message/global-delivery-status",
		"message/disposition-notification":
		return true
	}
	if len(h.Values("X-Failed-Recipients")) > 0 { // Exim bounces
		return true
	}
	// DMARC aggregate reports come as plain zip/gz attachments (RFC 7489 §7.2.1.1).
	return strings.HasPrefix(subject, "Report Domain:") && strings.Contains(subject, "Report-ID:")
}

// autoSubmitted checks every instance: one "no" does not excuse another.
func autoSubmitted(h Header) bool {
	for _, v := range h.Values("Auto-Submitted") {
		if t := firstToken(v); t != "" && !strings.EqualFold(t, "no") {
			return true
		}
	}
	return false
}

func vendorAutoreply(h Header) bool {
	for _, v := range h.Values("X-Autoreply") {
		if !strings.EqualFold(firstToken(v), "no") {
			return true
		}
	}
	if hasAny(h, []string{"X-Autorespond", "X-Autoresponder", "X-Autoreply-From", "X-Mail-Autoreply"}) {
		return true
	}
	for _, v := range h.Values("X-Autogenerated") {
		if strings.EqualFold(firstToken(v), "reply") {
			return true
		}
	}
	for _, v := range h.Values("X-Fc-Machinegenerated") {
		if strings.EqualFold(firstToken(v), "true") {
			return true
		}
	}
	for _, v := range h.Values("Delivered-To") {
		if strings.EqualFold(strings.TrimSpace(v), "autoresponder") {
			return true
		}
	}
	return false
}

// isRuleForwarded spots a person's mail that a Microsoft 365 / Exchange
// inbox rule forwarded: since 2025 Exchange stamps it Auto-Submitted:
// auto-generated (zammad#6025), which would otherwise make it a robot. An
// Exchange out-of-office carries the same stamps, so an automatic-looking
// subject or any other auto-reply marker keeps it a robot.
func isRuleForwarded(h Header, subject string) bool {
	as := h.Values("Auto-Submitted")
	if len(as) == 0 {
		return false
	}
	for _, v := range as {
		if t := firstToken(v); !strings.EqualFold(t, "auto-generated") && !strings.EqualFold(t, "no") {
			return false
		}
	}
	exchange := len(h.Values("X-Ms-Exchange-Inbox-Rules-Loop")) > 0
	for _, v := range h.Values("X-Ms-Exchange-Generated-Message-Source") {
		exchange = exchange || strings.Contains(strings.ToLower(v), "mailbox rules agent")
	}
	return exchange && !isAutoSubject(subject) && !vendorAutoreply(h)
}

func isSpam(h Header) bool {
	yes := func(key string, words ...string) bool {
		for _, v := range h.Values(key) {
			for _, w := range words {
				if strings.EqualFold(firstToken(v), w) {
					return true
				}
			}
		}
		return false
	}
	if yes("X-Spam-Flag", "yes") || yes("X-Spam-Status", "yes") || yes("X-Spam", "yes") ||
		yes("X-Barracuda-Spam-Status", "yes") || yes("X-Dspam-Result", "spam", "blacklisted") ||
		yes("X-Virus-Status", "infected") {
		return true
	}
	for _, v := range h.Values("X-Ms-Exchange-Organization-Scl") {
		if atoiOr(v, -1) >= 5 { // -1 is "trusted sender"
			return true
		}
	}
	for _, v := range h.Values("X-Forefront-Antispam-Report") {
		if strings.Contains(strings.ToUpper(v), "SFV:SPM") {
			return true
		}
	}
	return false
}

// suppressesAutoReply reads X-Auto-Response-Suppress ("DR, OOF, AutoReply").
func suppressesAutoReply(h Header) bool {
	for _, v := range h.Values("X-Auto-Response-Suppress") {
		for _, t := range strings.FieldsFunc(v, func(r rune) bool {
			return r == ',' || r == ';' || r == ' ' || r == '\t'
		}) {
			if strings.EqualFold(t, "all") || strings.EqualFold(t, "autoreply") || t == "-1" {
				return true
			}
		}
	}
	return false
}

var autoSubjects = []string{
	"automatic reply", "autoreply", "auto-reply", "auto reply", "out of office",
	"out of the office", "abwesenheitsnotiz", "réponse automatique",
	"respuesta automática", "autosvar", "automatisch antwoord", "fuori sede",
	"автоматический ответ", "автоответ", "автоответчик",
}

// isAutoSubject is the last-resort heuristic of RFC 3834 §3.1.5.
func isAutoSubject(s string) bool {
	if len(s) >= 5 && strings.EqualFold(s[:5], "auto:") {
		return true
	}
	// Prefix only: "Problem with my autoreply settings" is a person.
	// Leading tags go first: "[External] Automatic reply: ...".
	s = strings.ToLower(strings.TrimSpace(s))
	for strings.HasPrefix(s, "[") {
		i := strings.IndexByte(s, ']')
		if i < 0 {
			break
		}
		s = strings.TrimSpace(s[i+1:])
	}
	for _, w := range autoSubjects {
		if strings.HasPrefix(s, w) {
			return true
		}
	}
	return false
}

// addrTrim strips spaces and angle brackets: "<a@b>" → "a@b", "<<>>" → "".
func addrTrim(a string) string {
	return strings.Trim(a, " \t<>")
}

// splitAddr returns the local part and domain; the domain loses a trailing dot.
func splitAddr(a string) (local, domain string) {
	a = addrTrim(a)
	i := strings.LastIndexByte(a, '@')
	if i < 0 {
		return a, ""
	}
	return a[:i], strings.TrimSuffix(a[i+1:], ".")
}

// sameAddr compares case-insensitively (local parts are case-sensitive in
// theory, never in practice) and treats a+tag@d as a@d unless own itself has
// a tag, so reply addresses like support+t123@ still count as ours.
func sameAddr(a, own string) bool {
	al, ad := splitAddr(a)
	ol, od := splitAddr(own)
	if ad == "" || !strings.EqualFold(ad, od) {
		return false
	}
	if !strings.Contains(ol, "+") {
		al, _, _ = strings.Cut(al, "+")
	}
	return strings.EqualFold(al, ol)
}

func isOwn(a string, list []string) bool {
	if addrTrim(a) == "" {
		return false
	}
	for _, o := range list {
		if sameAddr(a, o) {
			return true
		}
	}
	return false
}

// inDomains: "partner.example.com" matches itself and "eu.partner.example.com",
// not "notpartner.example.com". List entries may start with "@" or ".".
func inDomains(a string, domains []string) bool {
	_, d := splitAddr(a)
	if d == "" {
		return false
	}
	for _, x := range domains {
		x = strings.TrimSuffix(strings.TrimLeft(strings.TrimSpace(x), "@."), ".")
		if x == "" {
			continue
		}
		if strings.EqualFold(d, x) ||
			(len(d) > len(x) && d[len(d)-len(x)-1] == '.' && strings.EqualFold(d[len(d)-len(x):], x)) {
			return true
		}
	}
	return false
}

// isRobotSender: the system local parts of RFC 3834 §2, RFC 5230 §4.6 and
// Pigeonhole, plus postmaster (see the package comment).
func isRobotSender(a string) bool {
	l, d := splitAddr(a)
	if d == "" && l == "" {
		return false
	}
	l = strings.ToLower(l)
	switch l {
	case "mailer-daemon", "mailerdaemon", "postmaster", "listserv", "majordomo":
		return true
	}
	return strings.HasPrefix(l, "owner-") || strings.HasSuffix(l, "-request") ||
		strings.HasSuffix(l, "-owner")
}

var noreplyWords = []string{
	"noreply", "no-reply", "no_reply", "no.reply", "donotreply", "do-not-reply",
	"do_not_reply", "do.not.reply", "dontreply", "autoreply",
}

// isNoreply: addresses nobody reads. Only the reply is stopped: such mail
// (order systems, monitoring) may still be a real request.
func isNoreply(a string) bool {
	l, d := splitAddr(a)
	if d == "" {
		return false
	}
	l = strings.ToLower(l)
	for _, w := range noreplyWords {
		if strings.Contains(l, w) {
			return true
		}
	}
	return strings.HasPrefix(l, "bounce") || strings.HasSuffix(l, "-bounces")
}

// isAddressed: RFC 3834 §2 / RFC 5230 §4.5: one of our addresses must be
// in To, Cc, Bcc or Resent-To/-Cc/-Bcc. With no addresses known we cannot
// tell and do not block.
func isAddressed(in Input, h Header, p Policy) bool {
	if len(p.OwnAddresses) == 0 && len(in.EnvelopeRcpts) == 0 {
		return true
	}
	ours := func(a string) bool { return isOwn(a, p.OwnAddresses) || isOwn(a, in.EnvelopeRcpts) }
	for _, list := range [][]string{in.To, in.Cc} {
		for _, a := range list {
			if ours(a) {
				return true
			}
		}
	}
	keys := []string{"Bcc", "Resent-To", "Resent-Cc", "Resent-Bcc"}
	if in.To == nil && in.Cc == nil {
		keys = append(keys, "To", "Cc") // the caller did not parse them
	}
	// No destination field at all: nothing says the message went to
	// someone else (a list, a Bcc to others), and the envelope names us.
	empty := len(in.To) == 0 && len(in.Cc) == 0
	for _, k := range []string{"To", "Cc", "Bcc", "Resent-To", "Resent-Cc", "Resent-Bcc"} {
		empty = empty && len(h.Values(k)) == 0
	}
	if empty {
		return true
	}
	for _, k := range keys {
		for _, v := range h.Values(k) {
			addrs, err := mail.ParseAddressList(v)
			if err != nil {
				continue
			}
			for _, a := range addrs {
				if ours(a.Address) {
					return true
				}
			}
		}
	}
	return false
}
