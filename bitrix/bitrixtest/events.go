package bitrixtest

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// eventClient posts events; the real sender has no documented timeout,
// ours must not hang a test.
var eventClient = &http.Client{Timeout: 10 * time.Second}

// FireCommentEvent posts ONTASKCOMMENTADD for an old-card comment to
// handlerURL, exactly as the portal's outgoing webhook does (docs/bitrix24.md §4.2):
// form-encoded, PHP-bracket keys in the portal's order, "undefined" for
// missing parts. Like the portal it does not retry. The caller closes the
// response body.
func (p *Portal) FireCommentEvent(handlerURL, appToken string, taskID, commentID int64) (*http.Response, error) {
	return p.fire(handlerURL, appToken, "ONTASKCOMMENTADD", [][2]string{
		{"data[FIELDS_BEFORE]", "undefined"},
		{"data[FIELDS_AFTER][ID]", itoa(commentID)},
		{"data[FIELDS_AFTER][TASK_ID]", itoa(taskID)},
		{"data[IS_ACCESSIBLE_BEFORE]", "N"},
		{"data[IS_ACCESSIBLE_AFTER]", "undefined"},
	})
}

// FireChatCommentEvent posts ONTASKCOMMENTADD for a new-card task: ID is
// 0 and MESSAGE_ID names the chat message (§4.2).
func (p *Portal) FireChatCommentEvent(handlerURL, appToken string, taskID, messageID int64) (*http.Response, error) {
	return p.fire(handlerURL, appToken, "ONTASKCOMMENTADD", [][2]string{
		{"data[FIELDS_BEFORE]", "undefined"},
		{"data[FIELDS_AFTER][ID]", "0"},
		{"data[FIELDS_AFTER][TASK_ID]", itoa(taskID)},
		{"data[FIELDS_AFTER][MESSAGE_ID]", itoa(messageID)},
		{"data[IS_ACCESSIBLE_BEFORE]", "N"},
		{"data[IS_ACCESSIBLE_AFTER]", "undefined"},
	})
}

// FireTaskEvent posts ONTASKADD, ONTASKUPDATE or ONTASKDELETE for a task.
func (p *Portal) FireTaskEvent(handlerURL, appToken, event string, taskID int64) (*http.Response, error) {
	before, after := [][2]string{{"data[FIELDS_BEFORE][ID]", itoa(taskID)}}, [][2]string{{"data[FIELDS_AFTER][ID]", itoa(taskID)}}
	switch strings.ToUpper(event) {
	case "ONTASKADD":
		before = [][2]string{{"data[FIELDS_BEFORE]", "undefined"}}
	case "ONTASKDELETE":
		after = [][2]string{{"data[FIELDS_AFTER]", "undefined"}}
	}
	return p.fire(handlerURL, appToken, strings.ToUpper(event), append(before, after...))
}

// EventBody builds the form body of an event, keys in the portal's order
// (url.Values.Encode would sort them). Exposed for tests that post it
// themselves, e.g. through httptest.NewRequest.
func (p *Portal) EventBody(appToken, event string, data [][2]string) string {
	pairs := [][2]string{{"event", event}, {"event_handler_id", "975"}}
	pairs = append(pairs, data...)
	pairs = append(pairs,
		[2]string{"ts", itoa(time.Now().Unix())},
		[2]string{"auth[domain]", p.Domain()},
		[2]string{"auth[client_endpoint]", p.srv.URL + "/rest/"},
		[2]string{"auth[server_endpoint]", "https://oauth.bitrix.info/rest/"},
		[2]string{"auth[member_id]", "d897063e1ce7c5eb9f04b9751eef5915"},
		[2]string{"auth[application_token]", appToken},
	)
	var b strings.Builder
	for i, kv := range pairs {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(url.QueryEscape(kv[0]))
		b.WriteByte('=')
		b.WriteString(url.QueryEscape(kv[1]))
	}
	return b.String()
}

func (p *Portal) fire(handlerURL, appToken, event string, data [][2]string) (*http.Response, error) {
	body := p.EventBody(appToken, event, data)
	req, err := http.NewRequest(http.MethodPost, handlerURL, strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("User-Agent", "Bitrix24 Webhook Engine")
	return eventClient.Do(req)
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
