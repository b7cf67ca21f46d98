package main

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"supportgate/bitrix/bitrixtest"
	"supportgate/mailtest"
)

// TestKillNineAfterIntake201: a web appeal answered 201 survives SIGKILL
// sent the moment the answer arrives: after the restart it is forwarded
// once and filed as one task.
func TestKillNineAfterIntake201(t *testing.T) {
	bin := buildBinary(t)
	dir := t.TempDir()
	portal := bitrixtest.NewWithOptions(t, bitrixtest.Options{UserID: 1, FolderID: 11})
	upstream := freePort(t) // down until the restart: the forward is surely pending
	smtpAddr, httpAddr := freePort(t), freePort(t)
	os.WriteFile(filepath.Join(dir, "intake.token"), []byte("tok-123\n"), 0o600)
	cfg := fmt.Sprintf(`
[smtp]
listen = %q
hostname = "mx.crash.test"
[http]
listen = %q
[console]
listen = %q
[storage]
dir = "state"
[upstream]
address = %q
[outbound]
address = %q
tls = "none"
[queue]
retry_initial = "200ms"
retry_max = "500ms"
[[mailbox]]
address = "support@example.com"
[autoreply]
enabled = false
[bitrix]
webhook_url = %q
responsible_id = 1
folder_id = 11
poll_interval = "1h"
[webform]
enabled = true
mailbox = "support@example.com"
api_token_file = "intake.token"
[webform.task]
TAGS = ["Тип отправления: ЛК жителя"]
`, smtpAddr, httpAddr, freePort(t), upstream, freePort(t), portal.WebhookURL())
	config := filepath.Join(dir, "config.toml")
	os.WriteFile(config, []byte(cfg), 0o600)

	cmd := startServe(t, bin, config, smtpAddr)
	body := `{"name":"Иван","email":"ivan@resident.test","subject":"Свет в подъезде","text":"Не горит свет","consent":true}`
	req, _ := http.NewRequest("POST", "http://"+httpAddr+"/intake", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer tok-123")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 201 {
		t.Fatalf("intake: %d", resp.StatusCode)
	}
	cmd.Process.Signal(syscall.SIGKILL) // right after the 201
	resp.Body.Close()
	cmd.Wait()

	ln, err := net.Listen("tcp", upstream)
	if err != nil {
		t.Skipf("upstream port taken meanwhile: %v", err)
	}
	up := mailtest.StartOn(t, ln, false)
	startServe(t, bin, config, smtpAddr)
	up.Wait(1, 10*time.Second)
	// The barrier: the spool is empty once every job of the appeal is done.
	deadline := time.Now().Add(15 * time.Second)
	for queued(t, httpAddr) != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the appeal's jobs did not finish after the restart")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if got := up.Messages(); len(got) != 1 || !strings.Contains(string(got[0].Data), "X-Supportgate-Channel: web") {
		t.Fatalf("upstream got %d copies, want 1 web appeal", len(got))
	}
	tasks := portal.Tasks()
	if len(tasks) != 1 || tasks[0].Title != "Свет в подъезде" || len(tasks[0].Tags) != 1 {
		t.Fatalf("tasks after restart: %+v", tasks)
	}
}

// queued reads supportgate_queue_messages from /metrics (-1 when not up).
func queued(t *testing.T, httpAddr string) int {
	resp, err := http.Get("http://" + httpAddr + "/metrics")
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "supportgate_queue_messages "); ok {
			var n int
			fmt.Sscan(v, &n)
			return n
		}
	}
	return -1
}
