// Command fakeportal is the demo's Bitrix24: the fake portal the tests use
// (bitrix/bitrixtest), on a fixed port, plus a small page to see the tasks
// supportgate made and to comment them as a specialist would. A comment
// posted here is announced to supportgate the way Bitrix24's outgoing
// webhook does, so the whole loop runs on one machine.
package main

import (
	"flag"
	"html/template"
	"log"
	"net"
	"net/http"
	"strconv"

	"supportgate/bitrix/bitrixtest"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:8090", "the portal's REST address")
	ui := flag.String("ui", "127.0.0.1:8091", "the demo page")
	secret := flag.String("secret", "demo-secret", "the inbound webhook's secret")
	token := flag.String("token", "demo-token", "the outgoing webhook's application token")
	rate := flag.Float64("rate", 2, "the leaky bucket's drain, requests/s (a real portal: 2; enterprise 5)")
	burst := flag.Int("burst", 50, "the leaky bucket's size (50; enterprise 250; 0: no limit)")
	handler := flag.String("handler", "http://127.0.0.1:8025/bitrix/event", "where events go (supportgate's /bitrix/event)")
	flag.Parse()

	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatal(err)
	}
	p := bitrixtest.Listen(ln, bitrixtest.Options{UserID: 1, UserName: "Webhook Robot", Secret: *secret, FolderID: 11,
		RateBurst: *burst, RatePerSec: *rate})
	defer p.Close()
	p.AddUser(7, "Ольга Смирнова", "olga@example.com")
	p.AddContact("ivan.petrov@customer.example", "Иван Петров")
	log.Printf("fakeportal: webhook %s (events go to %s)", p.WebhookURL(), *handler)
	log.Printf("fakeportal: tasks and a comment form at http://%s/", *ui)

	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		type row struct {
			bitrixtest.Task
			Comments []bitrixtest.Comment
		}
		var rows []row
		for _, t := range p.Tasks() {
			rows = append(rows, row{t, p.Comments(t.ID)})
		}
		page.Execute(w, rows)
	})
	mux.HandleFunc("POST /comment", func(w http.ResponseWriter, r *http.Request) {
		task, err := strconv.ParseInt(r.FormValue("task"), 10, 64)
		if err != nil {
			http.Error(w, "task: "+err.Error(), 400)
			return
		}
		if _, ok := p.Task(task); !ok {
			http.Error(w, "no such task", 404)
			return
		}
		id := p.AddSpecialistComment(task, 7, r.FormValue("text"), nil)
		resp, err := p.FireCommentEvent(*handler, *token, task, id)
		if err != nil {
			http.Error(w, "event not delivered: "+err.Error(), 502)
			return
		}
		resp.Body.Close()
		log.Printf("fakeportal: comment %d on task %d; supportgate answered %s", id, task, resp.Status)
		http.Redirect(w, r, "/", http.StatusSeeOther)
	})
	log.Fatal(http.ListenAndServe(*ui, mux))
}

var page = template.Must(template.New("page").Parse(`<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>fakeportal</title></head>
<body style="font-family:sans-serif;max-width:50em">
<h1>Tasks made by supportgate</h1>
{{if not .}}<p>None yet: send a message to support@example.com.</p>{{end}}
{{range .}}
<h2>#{{.ID}} {{.Title}}</h2>
<pre style="white-space:pre-wrap;background:#f4f4f4;padding:.5em">{{.Description}}</pre>
<p>{{len .Files}} file(s)</p>
{{range .Comments}}<p><b>comment {{.ID}} by {{.AuthorID}}:</b> {{.Message}}</p>{{end}}
<form method="post" action="/comment">
<input type="hidden" name="task" value="{{.ID}}">
<textarea name="text" rows="3" cols="60">Здравствуйте! Попробуйте заменить [b]картридж[/b].</textarea><br>
<button>Comment as Ольга Смирнова (the customer gets it by mail)</button>
</form>
{{end}}
</body></html>
`))
