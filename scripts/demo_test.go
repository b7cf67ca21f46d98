package scripts

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/smtp"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var demoVars = []string{"DEMO_SMTP_PORT", "DEMO_HTTP_PORT", "DEMO_CONSOLE_PORT", "DEMO_MAIL_PORT", "DEMO_PORTAL_PORT", "DEMO_PORTAL_UI_PORT"}

var (
	binOnce sync.Once
	binDir  string
	binErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// demoBin builds the demo's three programs once, into a temporary folder
// (so the tests never touch ./bin).
func demoBin(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: the demo script tests are skipped")
	}
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("bash not found")
	}
	binOnce.Do(func() {
		binDir, binErr = os.MkdirTemp("", "supportgate-demo-bin-")
		if binErr != nil {
			return
		}
		for _, c := range []string{"supportgate", "devmail", "fakeportal"} {
			out, err := exec.Command("go", "build", "-o", filepath.Join(binDir, c), "../cmd/"+c).CombinedOutput()
			if err != nil {
				binErr = fmt.Errorf("go build %s: %v\n%s", c, err, out)
				return
			}
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binDir
}

// freePorts returns n distinct free loopback ports.
func freePorts(t *testing.T, n int) []string {
	t.Helper()
	var ports []string
	var ls []net.Listener
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, l)
		_, p, _ := net.SplitHostPort(l.Addr().String())
		ports = append(ports, p)
	}
	for _, l := range ls {
		l.Close()
	}
	return ports
}

type demo struct {
	cmd    *exec.Cmd
	stdout *lockedBuf
	stderr *lockedBuf
	done   chan struct{}
	err    error
}

type lockedBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
	// lines gets each complete line written (nil: not watched).
	lines chan string
	part  string
}

func (l *lockedBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.b.Write(p)
	if l.lines != nil {
		l.part += string(p)
		for {
			i := strings.IndexByte(l.part, '\n')
			if i < 0 {
				break
			}
			select {
			case l.lines <- l.part[:i]:
			default:
			}
			l.part = l.part[i+1:]
		}
	}
	return len(p), nil
}

func (l *lockedBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startDemo runs scripts/demo.sh with env added, in its own process group;
// the test's cleanup kills that group, so nothing outlives the test even
// when the script misbehaves.
func startDemo(t *testing.T, env map[string]string) *demo {
	t.Helper()
	d := &demo{stdout: &lockedBuf{lines: make(chan string, 1000)}, stderr: &lockedBuf{}, done: make(chan struct{})}
	d.cmd = exec.Command("bash", "demo.sh")
	d.cmd.Env = os.Environ()
	for k, v := range env {
		d.cmd.Env = append(d.cmd.Env, k+"="+v)
	}
	d.cmd.Stdout, d.cmd.Stderr = d.stdout, d.stderr
	d.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { d.err = d.cmd.Wait(); close(d.done) }()
	t.Cleanup(func() {
		syscall.Kill(-d.cmd.Process.Pid, syscall.SIGKILL)
		<-d.done
	})
	return d
}

func (d *demo) wait(t *testing.T, within time.Duration) int {
	t.Helper()
	select {
	case <-d.done:
	case <-time.After(within):
		t.Fatalf("demo.sh still running after %s\nstdout:\n%s\nstderr:\n%s", within, d.stdout, d.stderr)
	}
	if d.cmd.ProcessState == nil {
		return -1
	}
	return d.cmd.ProcessState.ExitCode()
}

func baseEnv(t *testing.T, ports []string) map[string]string {
	env := map[string]string{"DEMO_BIN": demoBin(t), "DEMO_STATE": t.TempDir()}
	for i, v := range demoVars {
		env[v] = ports[i]
	}
	return env
}

func listening(port string) bool {
	c, err := net.DialTimeout("tcp", "127.0.0.1:"+port, time.Second)
	if err == nil {
		c.Close()
	}
	return err == nil
}

// Each port in turn taken by another program: the demo stops before
// starting anything, naming the port and the variable that moves it.
func TestDemoRefusesATakenPort(t *testing.T) {
	for i, v := range demoVars {
		t.Run(v, func(t *testing.T) {
			busy, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer busy.Close()
			_, port, _ := net.SplitHostPort(busy.Addr().String())
			ports := freePorts(t, len(demoVars))
			ports[i] = port
			env := baseEnv(t, ports)
			d := startDemo(t, env)
			code := d.wait(t, time.Minute)
			errs := d.stderr.String()
			if code != 1 || !strings.Contains(errs, "port 127.0.0.1:"+port) || !strings.Contains(errs, "already in use") || !strings.Contains(errs, v+"=") {
				t.Errorf("exit %d, stderr:\n%s", code, errs)
			}
			if strings.Contains(d.stdout.String(), "is running") {
				t.Errorf("the demo said it was running:\n%s", d.stdout)
			}
			for j, p := range ports {
				if j != i && listening(p) {
					t.Errorf("something listens on %s (%s) after the refusal", p, demoVars[j])
				}
			}
		})
	}
}

// A part that exits at start (here a fakeportal that fails) stops the
// demo with a message naming it, and what was already started is stopped.
func TestDemoStopsWhenAPartFails(t *testing.T) {
	real := demoBin(t)
	bin := t.TempDir()
	for _, c := range []string{"supportgate", "devmail"} {
		if err := os.Symlink(filepath.Join(real, c), filepath.Join(bin, c)); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(filepath.Join(bin, "fakeportal"), []byte("#!/bin/sh\necho 'fakeportal: cannot start' >&2\nexit 3\n"), 0o755)
	ports := freePorts(t, len(demoVars))
	env := baseEnv(t, ports)
	env["DEMO_BIN"] = bin
	d := startDemo(t, env)
	code := d.wait(t, time.Minute)
	errs := d.stderr.String()
	if code != 1 || !strings.Contains(errs, "demo: fakeportal did not start (exit status 3") {
		t.Errorf("exit %d, stderr:\n%s", code, errs)
	}
	if strings.Contains(d.stdout.String(), "is running") {
		t.Errorf("the demo said it was running:\n%s", d.stdout)
	}
	if listening(ports[2]) {
		t.Errorf("devmail (port %s) was left running", ports[2])
	}
}

// On free, moved ports the demo comes up, a message sent to its SMTP port
// reaches its devmail (not whatever holds the default port), and SIGTERM
// stops every part.
func TestDemoRunsOnMovedPorts(t *testing.T) {
	ports := freePorts(t, len(demoVars))
	env := baseEnv(t, ports)
	d := startDemo(t, env)
	banner := "supportgate is running:  SMTP 127.0.0.1:" + ports[0]
	waitLine(t, d, banner, time.Minute)
	resp, err := http.Get("http://127.0.0.1:" + ports[1] + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("/healthz: %s", resp.Status)
	}
	msg := "From: Ivan <ivan.petrov@customer.example>\r\nTo: support@example.com\r\nSubject: demo-test-subject\r\nMessage-ID: <demo-test@customer.example>\r\n\r\nhello\r\n"
	if err := smtp.SendMail("127.0.0.1:"+ports[0], nil, "ivan.petrov@customer.example", []string{"support@example.com"}, []byte(msg)); err != nil {
		t.Fatalf("send to the demo: %v", err)
	}
	// devmail prints the forwarded copy, RCPT the mailbox's forward_to.
	waitLine(t, d, "RCPT TO:support@mail.internal.example.com", time.Minute)
	waitLine(t, d, "Subject: demo-test-subject", time.Minute)
	// And the auto-reply, decoded, with the task number (README's promise).
	waitLine(t, d, "Номер обращения: #", time.Minute)

	d.cmd.Process.Signal(syscall.SIGTERM)
	code := d.wait(t, time.Minute)
	if code == 0 {
		t.Errorf("demo.sh exited 0 on SIGTERM")
	}
	for i, p := range ports {
		if listening(p) {
			t.Errorf("%s %s still listening after the demo stopped", demoVars[i], p)
		}
	}
}

func waitLine(t *testing.T, d *demo, want string, within time.Duration) {
	t.Helper()
	deadline := time.After(within)
	for {
		select {
		case l := <-d.stdout.lines:
			if strings.Contains(l, want) {
				return
			}
		case <-d.done:
			t.Fatalf("demo.sh exited before printing %q\nstdout:\n%s\nstderr:\n%s", want, d.stdout, d.stderr)
		case <-deadline:
			t.Fatalf("no %q within %s\nstdout:\n%s\nstderr:\n%s", want, within, d.stdout, d.stderr)
		}
	}
}
