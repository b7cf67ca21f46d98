package bitrix

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// Error is an answer from the portal that is not a success: either the
// documented error envelope {"error": CODE, "error_description": TEXT}
// (§1.5) or an HTTP status without one (proxy 502 page, refused redirect).
//
// Error() names the REST method, never the URL, so the webhook secret cannot
// leak through logs.
type Error struct {
	Method      string // REST method, e.g. "tasks.task.add"
	Code        string // portal code as sent; may be "", "0", or a sentence
	Description string // error_description; not meant for end users
	HTTPStatus  int    // 0 if no HTTP answer was received
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("bitrix ")
	b.WriteString(e.Method)
	b.WriteString(": ")
	switch {
	case e.Code != "" && e.Description != "":
		fmt.Fprintf(&b, "%s: %s", e.Code, e.Description)
	case e.Code != "":
		b.WriteString(e.Code)
	case e.Description != "":
		b.WriteString(e.Description)
	default:
		b.WriteString("error")
	}
	if e.HTTPStatus != 0 {
		fmt.Fprintf(&b, " (HTTP %d)", e.HTTPStatus)
	}
	return b.String()
}

// codeIs compares a portal code case-insensitively: the portal mixes
// "expired_token" and "QUERY_LIMIT_EXCEEDED" (§1.5).
func (e *Error) codeIs(codes ...string) bool {
	for _, c := range codes {
		if strings.EqualFold(e.Code, c) {
			return true
		}
	}
	return false
}

// Codes the client gives special meaning to (§1.5, §1.6).
const (
	CodeQueryLimit     = "QUERY_LIMIT_EXCEEDED" // 503, rejected before execution
	CodeOperationLimit = "OPERATION_TIME_LIMIT" // 429, method time budget spent
	CodeOverload       = "OVERLOAD_LIMIT"       // 503, manual block: never retry
	CodeInternal       = "INTERNAL_SERVER_ERROR"
	CodeRedirect       = "REDIRECT" // our own code: the portal answered 3xx
)

// authCodes mean "fix the configuration", never "try again".
var authCodes = []string{
	"NO_AUTH_FOUND", "INVALID_CREDENTIALS", "insufficient_scope",
	"ACCESS_DENIED", "expired_token", "invalid_token",
	"authorization_error", "user_access_error",
}

// hardCodes are server-side failures the SDKs refuse to auto-retry.
var hardCodes = []string{CodeOverload, CodeInternal, "PORTAL_DELETED"}

// ErrAmbiguous is wrapped by errors from creates whose outcome is unknown:
// the request may or may not have been carried out (timeout, dropped
// connection, 5xx). Look for the object before creating it again.
var ErrAmbiguous = errors.New("outcome unknown, look before retrying")

// AmbiguousError is returned for a create with an unknown outcome. It
// matches both errors.Is(err, ErrAmbiguous) and the underlying cause.
type AmbiguousError struct {
	Method string
	Err    error // the cause: *Error, or a (redacted) network error
}

func (e *AmbiguousError) Error() string {
	return fmt.Sprintf("bitrix %s: %v: %v", e.Method, ErrAmbiguous, e.Err)
}

// Unwrap exposes both ErrAmbiguous and the cause.
func (e *AmbiguousError) Unwrap() []error { return []error{ErrAmbiguous, e.Err} }

// IsRetryable reports whether repeating the same request is safe and may
// succeed: rate-limit rejections (QUERY_LIMIT_EXCEEDED, OPERATION_TIME_LIMIT,
// 429), 5xx without a hard code, and network errors. Ambiguous creates,
// auth errors, other 4xx and cancelled contexts are not retryable.
//
// Note: for creates the client itself does not retry network errors and 5xx
// (see ErrAmbiguous); this helper is about the error, not the method.
func IsRetryable(err error) bool {
	if err == nil || errors.Is(err, ErrAmbiguous) ||
		errors.Is(err, context.Canceled) {
		return false
	}
	var e *Error
	if !errors.As(err, &e) {
		var ue *url.Error
		// Network errors (including our per-attempt timeout).
		return errors.As(err, &ue) || errors.Is(err, context.DeadlineExceeded)
	}
	if isRateLimit(e) {
		return true
	}
	if e.codeIs(hardCodes...) || e.codeIs(authCodes...) {
		return false
	}
	return e.HTTPStatus >= 500
}

// isRateLimit: the request was refused before the method ran, so it is
// safe to repeat for any method, creates included.
func isRateLimit(e *Error) bool {
	if e.codeIs(CodeQueryLimit, CodeOperationLimit) {
		return true
	}
	return e.HTTPStatus == 429 && e.Code == ""
}

// IsAuth reports whether err says the webhook is not allowed to do this:
// wrong secret, missing scope, inactive user, expired token.
func IsAuth(err error) bool {
	var e *Error
	if !errors.As(err, &e) {
		return false
	}
	return e.codeIs(authCodes...)
}

// IsNotFound reports whether err says the object does not exist or is not
// visible to the webhook user: ERROR_NOT_FOUND, the #512
// ITEM_NOT_FOUND_OR_NOT_ACCESSIBLE of task.commentitem.*, CRM's empty code
// with "Not found", or a 404 for a download.
func IsNotFound(err error) bool {
	var e *Error
	if !errors.As(err, &e) {
		return false
	}
	if e.codeIs("ERROR_NOT_FOUND", "NOT_FOUND") {
		return true
	}
	d := strings.ToUpper(e.Description)
	if strings.Contains(d, "NOT_FOUND_OR_NOT_ACCESSIBLE") ||
		(e.Code == "" && strings.Contains(d, "NOT FOUND")) {
		return true
	}
	// Method-level 404 is ERROR_METHOD_NOT_FOUND: a bug or a missing
	// scope, not a missing object.
	return e.HTTPStatus == 404 && !e.codeIs("ERROR_METHOD_NOT_FOUND")
}
