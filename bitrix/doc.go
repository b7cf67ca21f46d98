// Package bitrix is a small client for a Bitrix24 portal reached through an
// inbound webhook URL (https://PORTAL/rest/USER/SECRET/).
//
// It covers what supportgate needs: creating tasks from mail, commenting on
// them, uploading attachments to Drive, looking up CRM contacts, reading the
// specialists' answers (old-card forum comments and new-card chat messages)
// and parsing the outgoing-webhook events Bitrix24 posts to us.
//
// docs/bitrix24.md is the source of truth for the wire details; a bare §
// in this package (and in bitrixtest) cites a section of that file, where a
// choice is not obvious.
//
// Two rules shape the code:
//
//   - The webhook secret is a password. It never appears in errors or logs:
//     errors name the REST method, and Redact scrubs URLs.
//   - Creating things is not idempotent. A create whose outcome is unknown
//     (timeout, dropped connection, 5xx) is not retried; the caller gets an
//     error wrapping ErrAmbiguous and should look (FindTasks, ListComments)
//     before trying again.
//
// # What the client does with each answer
//
// Every call first waits for the client-side leaky bucket (2/s, burst 50 by
// default). Then, by answer:
//
//	QUERY_LIMIT_EXCEEDED (503), OPERATION_TIME_LIMIT or bare 429
//	    refused before the method ran: bucket drained, backoff, retried
//	    (reads and creates alike), up to MaxRetries
//	5xx without a code, ERROR_UNEXPECTED_ANSWER, network error, timeout
//	    reads: retried with backoff; creates: *AmbiguousError, no retry
//	INTERNAL_SERVER_ERROR, PORTAL_DELETED
//	    reads: returned; creates: *AmbiguousError (it may have run)
//	OVERLOAD_LIMIT (503)
//	    returned, never retried (manual block by Bitrix24)
//	NO_AUTH_FOUND, INVALID_CREDENTIALS, insufficient_scope, ACCESS_DENIED,
//	expired_token, invalid_token, authorization_error, user_access_error
//	    returned at once; IsAuth is true
//	3xx (portal moved)
//	    not followed (a POST would turn into a GET): *Error code REDIRECT
//	ERROR_NOT_FOUND, #512 ..._NOT_FOUND_OR_NOT_ACCESSIBLE, CRM "Not found"
//	    returned; IsNotFound is true
//	any other 4xx (ERROR_CORE, ERROR_ARGUMENT, "0", "100", ...)
//	    returned, not retried
//
// Codes are compared case-insensitively.
package bitrix
