// Package bitrix is a small client for a Bitrix24 portal reached through an
// inbound webhook URL (https://PORTAL/rest/USER/SECRET/).
//
// It covers what supportgate needs: creating tasks from mail, commenting on
// them, uploading attachments to Drive, looking up CRM contacts, reading the
// specialists' answers (old-card forum comments and new-card chat messages)
// and parsing the outgoing-webhook events Bitrix24 posts to us.
//
// The notes in shared/bitrix24/API.md are the source of truth for the wire
// details; comments here cite its sections (§) where a choice is not obvious.
//
// Two rules shape the code:
//
//   - The webhook secret is a password. It never appears in errors or logs:
//     errors name the REST method, and Redact scrubs URLs.
//   - Creating things is not idempotent. A create whose outcome is unknown
//     (timeout, dropped connection, 5xx) is not retried; the caller gets an
//     error wrapping ErrAmbiguous and should look (FindTasks, ListComments)
//     before trying again.
package bitrix
