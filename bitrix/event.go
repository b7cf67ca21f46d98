package bitrix

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// Event is one outgoing-webhook call from the portal (§4.2). It carries
// ids only: fetch the comment or chat message afterwards.
type Event struct {
	Name      string // upper case: "ONTASKCOMMENTADD", "ONTASKADD", ...
	HandlerID int64
	TaskID    int64
	CommentID int64  // old-card comment id; 0 for new-card chat messages
	MessageID int64  // new-card chat message id; 0 for old-card comments
	Action    string // "EDIT" / "DEL" for comment update/delete events
	TS        int64  // unix seconds, as sent

	ApplicationToken string // auth[application_token]: check with VerifyToken
	Domain           string // auth[domain]
	MemberID         string // auth[member_id]
	ClientEndpoint   string // auth[client_endpoint]

	// Values keeps every decoded form field, bracket keys as sent.
	Values url.Values
}

// IsComment reports whether the event is about a task comment.
func (e Event) IsComment() bool { return strings.HasPrefix(e.Name, "ONTASKCOMMENT") }

// IsNewCard reports whether the comment lives in a new-card task chat:
// then ID is 0 and MESSAGE_ID names the chat message (§4.2).
func (e Event) IsNewCard() bool { return e.IsComment() && e.CommentID == 0 && e.MessageID > 0 }

// MaxEventBody caps the event body; real ones are well under 1 KiB.
const MaxEventBody = 64 << 10

// ParseEvent reads the form-encoded body Bitrix24 posts to an event
// handler (§4.2): PHP-bracket keys, every value a string, missing parts
// the literal "undefined". It does not check the token: call VerifyToken.
func ParseEvent(r *http.Request) (Event, error) {
	if r.Method != http.MethodPost {
		return Event{}, fmt.Errorf("bitrix event: method %s, want POST", r.Method)
	}
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || mt != "application/x-www-form-urlencoded" {
			return Event{}, fmt.Errorf("bitrix event: content type %.60q, want form-urlencoded", ct)
		}
	}
	if r.Body == nil {
		return Event{}, errors.New("bitrix event: empty body")
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxEventBody+1))
	if err != nil {
		return Event{}, fmt.Errorf("bitrix event: read body: %w", err)
	}
	if len(body) > MaxEventBody {
		return Event{}, errors.New("bitrix event: body too large")
	}
	return parseEventBody(string(body))
}

func parseEventBody(body string) (Event, error) {
	vals, err := url.ParseQuery(body)
	if err != nil {
		return Event{}, fmt.Errorf("bitrix event: bad form body: %w", err)
	}
	ev := Event{
		Name:             strings.ToUpper(strings.TrimSpace(vals.Get("event"))),
		ApplicationToken: defined(vals.Get("auth[application_token]")),
		Domain:           defined(vals.Get("auth[domain]")),
		MemberID:         defined(vals.Get("auth[member_id]")),
		ClientEndpoint:   defined(vals.Get("auth[client_endpoint]")),
		Action:           defined(vals.Get("data[FIELDS_AFTER][ACTION]")),
		Values:           vals,
	}
	if ev.Name == "" {
		return Event{}, errors.New("bitrix event: no event name")
	}
	var errs []error
	num := func(key string) int64 {
		n, err := eventInt(vals.Get(key))
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", key, err))
		}
		return n
	}
	ev.HandlerID = num("event_handler_id")
	ev.TS = num("ts")
	// FIELDS_AFTER is "undefined" for deletes; the ids are in BEFORE then.
	side := "data[FIELDS_AFTER]"
	if defined(vals.Get(side+"[ID]")) == "" && defined(vals.Get(side+"[TASK_ID]")) == "" {
		side = "data[FIELDS_BEFORE]"
	}
	id := num(side + "[ID]")
	if ev.IsComment() {
		ev.CommentID = id
		ev.TaskID = num(side + "[TASK_ID]")
		ev.MessageID = num(side + "[MESSAGE_ID]")
	} else {
		ev.TaskID = id
	}
	if len(errs) > 0 {
		return Event{}, fmt.Errorf("bitrix event: %w", errors.Join(errs...))
	}
	return ev, nil
}

// defined maps PHP's "undefined" placeholder to "".
func defined(s string) string {
	if s == "undefined" {
		return ""
	}
	return s
}

// eventInt parses a numeric form value; "", "undefined" and "0" are 0.
func eventInt(s string) (int64, error) {
	s = strings.TrimSpace(defined(s))
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("not an id: %.30q", s)
	}
	return n, nil
}

// VerifyToken reports whether the event carries the application token from
// the outgoing-webhook settings (§4.3). The comparison is constant-time
// (hashing first also hides the token's length); an empty configured token
// never matches, so a missing setting cannot open the door.
func VerifyToken(ev Event, token string) bool {
	if token == "" || ev.ApplicationToken == "" {
		return false
	}
	a := sha256.Sum256([]byte(ev.ApplicationToken))
	b := sha256.Sum256([]byte(token))
	return subtle.ConstantTimeCompare(a[:], b[:]) == 1
}
