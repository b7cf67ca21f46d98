package bitrix_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"supportgate/bitrix"
	"supportgate/bitrix/bitrixtest"
)

// The body of docs/bitrix24.md §4.2, encoded as the portal sends it.
const docEventBody = "event=ONTASKCOMMENTADD&event_handler_id=975&data%5BFIELDS_BEFORE%5D=undefined" +
	"&data%5BFIELDS_AFTER%5D%5BID%5D=123&data%5BFIELDS_AFTER%5D%5BTASK_ID%5D=555" +
	"&data%5BIS_ACCESSIBLE_BEFORE%5D=N&data%5BIS_ACCESSIBLE_AFTER%5D=undefined&ts=1766047124" +
	"&auth%5Bdomain%5D=some-domain.bitrix24.com&auth%5Bclient_endpoint%5D=https%3A%2F%2Fsome-domain.bitrix24.com%2Frest%2F" +
	"&auth%5Bserver_endpoint%5D=https%3A%2F%2Foauth.bitrix.info%2Frest%2F&auth%5Bmember_id%5D=d897063e1ce7c5eb9f04b9751eef5915" +
	"&auth%5Bapplication_token%5D=jvh9y1ulvt2m6k5or90v9mg8nn32ozas"

func postEvent(body string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/bitrix/event", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return r
}

func TestParseEventDocBody(t *testing.T) {
	ev, err := bitrix.ParseEvent(postEvent(docEventBody))
	if err != nil {
		t.Fatal(err)
	}
	if ev.Name != "ONTASKCOMMENTADD" || ev.HandlerID != 975 || ev.CommentID != 123 || ev.TaskID != 555 ||
		ev.MessageID != 0 || ev.TS != 1766047124 || ev.Domain != "some-domain.bitrix24.com" ||
		ev.MemberID != "d897063e1ce7c5eb9f04b9751eef5915" || ev.ClientEndpoint != "https://some-domain.bitrix24.com/rest/" ||
		ev.ApplicationToken != "jvh9y1ulvt2m6k5or90v9mg8nn32ozas" || !ev.IsComment() || ev.IsNewCard() {
		t.Fatalf("event = %+v", ev)
	}
	if !bitrix.VerifyToken(ev, "jvh9y1ulvt2m6k5or90v9mg8nn32ozas") {
		t.Error("right token refused")
	}
	for _, tok := range []string{"", "jvh9y1ulvt2m6k5or90v9mg8nn32oza", "JVH9Y1ULVT2M6K5OR90V9MG8NN32OZAS"} {
		if bitrix.VerifyToken(ev, tok) {
			t.Errorf("token %q accepted", tok)
		}
	}
	if bitrix.VerifyToken(bitrix.Event{}, "") {
		t.Error("empty token matched empty token")
	}
}

func TestParseEventVariants(t *testing.T) {
	cases := []struct {
		body                   string
		name                   string
		task, comment, message int64
		newCard                bool
	}{
		{"event=ONTASKCOMMENTADD&data[FIELDS_BEFORE]=undefined&data[FIELDS_AFTER][ID]=0&data[FIELDS_AFTER][TASK_ID]=51&data[FIELDS_AFTER][MESSAGE_ID]=84877&auth[application_token]=t",
			"ONTASKCOMMENTADD", 51, 0, 84877, true},
		{"event=ontaskadd&data[FIELDS_BEFORE]=undefined&data[FIELDS_AFTER][ID]=42&auth[application_token]=t",
			"ONTASKADD", 42, 0, 0, false},
		{"event=ONTASKDELETE&data[FIELDS_BEFORE][ID]=42&data[FIELDS_AFTER]=undefined",
			"ONTASKDELETE", 42, 0, 0, false},
		{"event=ONTASKCOMMENTDELETE&data[FIELDS_BEFORE][ID]=7&data[FIELDS_BEFORE][TASK_ID]=9&data[FIELDS_AFTER][ID]=7&data[FIELDS_AFTER][TASK_ID]=9&data[FIELDS_AFTER][ACTION]=DEL",
			"ONTASKCOMMENTDELETE", 9, 7, 0, false},
	}
	for _, c := range cases {
		ev, err := bitrix.ParseEvent(postEvent(c.body))
		if err != nil {
			t.Errorf("%s: %v", c.body, err)
			continue
		}
		if ev.Name != c.name || ev.TaskID != c.task || ev.CommentID != c.comment || ev.MessageID != c.message || ev.IsNewCard() != c.newCard {
			t.Errorf("%s: got %+v", c.body, ev)
		}
	}
}

func TestParseEventRejects(t *testing.T) {
	for _, body := range []string{
		"", "data[FIELDS_AFTER][ID]=1", "event=ONTASKADD&data[FIELDS_AFTER][ID]=abc",
		"event=ONTASKADD&ts=-5", "event=X&data[FIELDS_AFTER][ID]=%zz",
		"event=ONTASKADD&x=" + strings.Repeat("a", bitrix.MaxEventBody),
	} {
		if ev, err := bitrix.ParseEvent(postEvent(body)); err == nil {
			t.Errorf("%.60q accepted: %+v", body, ev)
		}
	}
	r := httptest.NewRequest(http.MethodGet, "/bitrix/event?event=ONTASKADD", nil)
	if _, err := bitrix.ParseEvent(r); err == nil {
		t.Error("GET accepted")
	}
	r = postEvent(docEventBody)
	r.Header.Set("Content-Type", "application/json")
	if _, err := bitrix.ParseEvent(r); err == nil {
		t.Error("JSON content type accepted")
	}
}

// The fake's emitter and the parser agree, over real HTTP.
func TestFireEventsToHandler(t *testing.T) {
	p := bitrixtest.New(t)
	got := make(chan bitrix.Event, 2)
	h := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ev, err := bitrix.ParseEvent(r)
		if err != nil || !bitrix.VerifyToken(ev, "app-token") {
			http.Error(w, "no", http.StatusUnauthorized)
			return
		}
		got <- ev
	}))
	defer h.Close()
	task := p.CreateTask(bitrixtest.Task{Title: "t", ResponsibleID: 1, NewCard: true})
	cid := p.AddSpecialistComment(task, 503, "answer", nil)
	resp, err := p.FireCommentEvent(h.URL+"/bitrix/event", "app-token", task, cid)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("fire: %v, %v", resp, err)
	}
	resp.Body.Close()
	if ev := <-got; ev.TaskID != task || ev.CommentID != cid || ev.IsNewCard() || ev.Domain != p.Domain() {
		t.Errorf("old card event = %+v", ev)
	}
	mid := p.AddChatMessage(task, 503, "chat answer", nil)
	resp, err = p.FireChatCommentEvent(h.URL+"/bitrix/event", "app-token", task, mid)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("fire: %v, %v", resp, err)
	}
	resp.Body.Close()
	if ev := <-got; ev.TaskID != task || ev.MessageID != mid || !ev.IsNewCard() {
		t.Errorf("new card event = %+v", ev)
	}
	resp, err = p.FireCommentEvent(h.URL+"/bitrix/event", "wrong", task, cid)
	if err != nil || resp.StatusCode != 401 {
		t.Fatalf("wrong token: %v, %v", resp, err)
	}
	resp.Body.Close()
}

func FuzzParseEvent(f *testing.F) {
	f.Add(docEventBody)
	f.Add("event=ONTASKCOMMENTADD&data[FIELDS_AFTER][ID]=0&data[FIELDS_AFTER][TASK_ID]=51&data[FIELDS_AFTER][MESSAGE_ID]=84877")
	f.Add("event=ONTASKDELETE&data[FIELDS_BEFORE][ID]=42&data[FIELDS_AFTER]=undefined")
	f.Add("event=&&&=&data[[[]]]=1&ts=undefined")
	f.Add("event=%ZZ;a=b")
	f.Add("event=ONTASKADD&data[FIELDS_AFTER][ID]=99999999999999999999")
	f.Fuzz(func(t *testing.T, body string) {
		ev, err := bitrix.ParseEvent(postEvent(body))
		if err != nil {
			return
		}
		if ev.Name == "" || ev.TaskID < 0 || ev.CommentID < 0 || ev.MessageID < 0 {
			t.Fatalf("accepted odd event %+v from %q", ev, body)
		}
		if ev.IsNewCard() && ev.CommentID != 0 {
			t.Fatalf("new card with comment id: %+v", ev)
		}
		_ = bitrix.VerifyToken(ev, "x")
	})
}
