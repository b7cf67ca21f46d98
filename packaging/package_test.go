package packaging

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The unit must carry these, each on a line of its own (issue 13: a full
// unit an admin trusts).
var unitWants = []string{
	"[Unit]", "[Service]", "[Install]",
	"User=supportgate",
	"ExecStart=/usr/bin/supportgate serve -config /etc/supportgate/config.toml",
	"ExecReload=/bin/kill -HUP $MAINPID",
	"StateDirectory=supportgate",
	"ReadWritePaths=/var/lib/supportgate",
	"ProtectSystem=strict",
	"ProtectHome=yes",
	"PrivateTmp=yes",
	"NoNewPrivileges=yes",
	"AmbientCapabilities=CAP_NET_BIND_SERVICE",
	"RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX",
	"WantedBy=multi-user.target",
}

const unitPath = "/lib/systemd/system/supportgate.service"

var (
	debOnce sync.Once
	debPath string
	debErr  error
	debDir  string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if debDir != "" {
		os.RemoveAll(debDir)
	}
	os.Exit(code)
}

// buildDeb runs `make package` once for all tests, into a temporary DIST.
func buildDeb(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: building the .deb (nfpm from the module proxy) is skipped")
	}
	for _, tool := range []string{"make", "go", "dpkg-deb"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not found: the package test is skipped (Debian's dpkg provides dpkg-deb)", tool)
		}
	}
	debOnce.Do(func() {
		debDir, debErr = os.MkdirTemp("", "supportgate-deb-")
		if debErr != nil {
			return
		}
		root, _ := filepath.Abs("..")
		cmd := exec.Command("make", "-C", root, "package", "DIST="+debDir)
		out, err := cmd.CombinedOutput()
		if err != nil {
			debErr = fmt.Errorf("make package: %v\n%s", err, out)
			return
		}
		m, _ := filepath.Glob(filepath.Join(debDir, "supportgate_*.deb"))
		if len(m) != 1 {
			debErr = fmt.Errorf("make package made %d .deb files in %s:\n%s", len(m), debDir, out)
			return
		}
		debPath = m[0]
	})
	if debErr != nil {
		t.Fatal(debErr)
	}
	return debPath
}

func run(t *testing.T, name string, args ...string) (string, error) {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	return string(out), err
}

func mustRun(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := run(t, name, args...)
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return out
}

func checkUnit(t *testing.T, text string) {
	t.Helper()
	lines := map[string]bool{}
	for _, l := range strings.Split(text, "\n") {
		lines[strings.TrimSpace(l)] = true
	}
	for _, w := range unitWants {
		if !lines[w] {
			t.Errorf("the unit lacks the line %q", w)
		}
	}
}

// TestPackageContents looks inside the .deb (no root needed): where each
// file goes, the conffiles, the unit, the man page, and that the shipped
// config passes `check` when the package's tree is unpacked somewhere else.
func TestPackageContents(t *testing.T) {
	deb := buildDeb(t)
	fi, _ := os.Stat(deb)
	t.Logf("%s: %d bytes", filepath.Base(deb), fi.Size())

	list := mustRun(t, "dpkg-deb", "-c", deb)
	for _, p := range []string{
		"./usr/bin/supportgate", "." + unitPath, "./usr/share/man/man8/supportgate.8.gz",
		"./etc/supportgate/config.toml", "./etc/supportgate/contacts.csv",
		"./etc/supportgate/templates/autoreply.en.html", "./etc/supportgate/templates/autoreply.ru.html",
		"./etc/supportgate/templates/logo.png",
		"./usr/share/doc/supportgate/README.md", "./usr/share/doc/supportgate/docs/CONTRACT.md",
	} {
		if !strings.Contains(list, " "+p+"\n") {
			t.Errorf("the package lacks %s:\n%s", p, list)
		}
	}
	conf := mustRun(t, "dpkg-deb", "-f", deb, "Package", "Version", "Architecture")
	if !strings.Contains(conf, "Package: supportgate") {
		t.Errorf("control: %s", conf)
	}
	dir := t.TempDir()
	mustRun(t, "dpkg-deb", "--ctrl-tarfile", deb) // readable
	mustRun(t, "dpkg-deb", "-e", deb, filepath.Join(dir, "DEBIAN"))
	conffiles, _ := os.ReadFile(filepath.Join(dir, "DEBIAN", "conffiles"))
	for _, c := range []string{"/etc/supportgate/config.toml", "/etc/supportgate/contacts.csv", "/etc/supportgate/templates/autoreply.en.html"} {
		if !strings.Contains(string(conffiles), c+"\n") {
			t.Errorf("%s is not a conffile (an upgrade would overwrite the admin's edits):\n%s", c, conffiles)
		}
	}
	for _, s := range []string{"postinst", "prerm", "postrm"} {
		if _, err := os.Stat(filepath.Join(dir, "DEBIAN", s)); err != nil {
			t.Errorf("maintainer script %s missing", s)
		}
	}

	root := filepath.Join(dir, "root")
	mustRun(t, "dpkg-deb", "-x", deb, root)
	unit, err := os.ReadFile(filepath.Join(root, unitPath))
	if err != nil {
		t.Fatal(err)
	}
	checkUnit(t, string(unit))
	man, err := os.Open(filepath.Join(root, "usr/share/man/man8/supportgate.8.gz"))
	if err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(man)
	if err != nil {
		t.Fatalf("man page not gzip: %v", err)
	}
	page, _ := io.ReadAll(zr)
	man.Close()
	if !bytes.HasPrefix(page, []byte(".\\\"")) || !bytes.Contains(page, []byte(".TH SUPPORTGATE 8")) {
		t.Errorf("man page: %.200s", page)
	}

	// The shipped config, moved with the tree: it must check OK as is.
	cfgPath := filepath.Join(root, "etc/supportgate/config.toml")
	text, _ := os.ReadFile(cfgPath)
	moved := strings.ReplaceAll(string(text), "/var/lib/supportgate", filepath.Join(root, "var/lib/supportgate"))
	moved = strings.ReplaceAll(moved, "/etc/supportgate", filepath.Join(root, "etc/supportgate"))
	os.WriteFile(cfgPath, []byte(moved), 0o600)
	out, err := run(t, filepath.Join(root, "usr/bin/supportgate"), "check", "-config", cfgPath)
	if err != nil || !strings.Contains(out, ": OK") {
		t.Errorf("the shipped config does not check: %v\n%s", err, out)
	}
}

// TestPackageInstall installs the .deb into this machine with dpkg -i, as
// an admin would, checks what it set up, then purges it and checks the
// machine is as before. Root only, and never on a machine where supportgate
// (or its user, or /etc/supportgate) already exists.
func TestPackageInstall(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the dpkg install test is skipped")
	}
	if os.Geteuid() != 0 {
		t.Skip("not root: the dpkg -i test is skipped (CI runs it as root)")
	}
	if _, err := exec.LookPath("dpkg"); err != nil {
		t.Skip("dpkg not found: the install test needs Debian")
	}
	if out, err := run(t, "dpkg-query", "-W", "-f=${Status}", "supportgate"); err == nil && strings.Contains(out, "installed") && !strings.Contains(out, "not-installed") {
		t.Skipf("supportgate is already installed here (%s): not touching it", out)
	}
	if _, err := user.Lookup("supportgate"); err == nil {
		t.Skip("a supportgate user exists already: not touching it")
	}
	for _, p := range []string{"/etc/supportgate", "/var/lib/supportgate", "/usr/bin/supportgate", unitPath} {
		if _, err := os.Lstat(p); err == nil {
			t.Skipf("%s exists already: not touching it", p)
		}
	}
	deb := buildDeb(t)

	t.Cleanup(func() {
		out, err := dpkg(t, "--purge", "supportgate")
		if err != nil {
			t.Errorf("dpkg --purge: %v\n%s", err, out)
		}
		// The machine as before: no files, no user, no group, no package.
		for _, p := range []string{"/etc/supportgate", "/var/lib/supportgate", "/usr/bin/supportgate", unitPath, "/usr/share/man/man8/supportgate.8.gz", "/usr/share/doc/supportgate"} {
			if _, err := os.Lstat(p); err == nil {
				t.Errorf("after purge %s is still there", p)
			}
		}
		if _, err := user.Lookup("supportgate"); err == nil {
			t.Errorf("after purge the supportgate user is still there")
		}
		if _, err := user.LookupGroup("supportgate"); err == nil {
			t.Errorf("after purge the supportgate group is still there")
		}
		if out, _ := run(t, "dpkg-query", "-W", "-f=${Status}", "supportgate"); strings.Contains(out, " installed") {
			t.Errorf("after purge dpkg still has supportgate: %s", out)
		}
	})
	if out, err := dpkg(t, "-i", deb); err != nil {
		t.Fatalf("dpkg -i: %v\n%s", err, out)
	}

	// The user: a system account without a login, home on the state dir.
	u, err := user.Lookup("supportgate")
	if err != nil {
		t.Fatalf("no supportgate user after install: %v", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	if uid == 0 || uid >= 1000 {
		t.Errorf("supportgate uid %d: not a system user", uid)
	}
	pw := mustRun(t, "getent", "passwd", "supportgate")
	if !strings.Contains(pw, ":/var/lib/supportgate:") || !strings.Contains(pw, "nologin") {
		t.Errorf("passwd entry: %s", pw)
	}
	g, err := user.LookupGroup("supportgate")
	if err != nil || g.Gid != u.Gid {
		t.Errorf("supportgate group: %v %v (user gid %s)", g, err, u.Gid)
	}
	gid, _ := strconv.Atoi(u.Gid)
	owned := func(p string, wantUID, wantGID int, wantMode os.FileMode) {
		t.Helper()
		fi, err := os.Stat(p)
		if err != nil {
			t.Errorf("%s: %v", p, err)
			return
		}
		st := fi.Sys().(*syscall.Stat_t)
		if int(st.Uid) != wantUID || int(st.Gid) != wantGID || fi.Mode().Perm() != wantMode {
			t.Errorf("%s: owner %d:%d mode %o, want %d:%d %o", p, st.Uid, st.Gid, fi.Mode().Perm(), wantUID, wantGID, wantMode)
		}
	}
	owned("/etc/supportgate", 0, gid, 0o750)
	owned("/etc/supportgate/config.toml", 0, gid, 0o640)
	owned("/var/lib/supportgate", uid, gid, 0o750)

	// The shipped config checks OK as installed, as root and as the
	// service's user (who must be able to read it).
	out := mustRun(t, "/usr/bin/supportgate", "check", "-config", "/etc/supportgate/config.toml")
	if !strings.Contains(out, "/etc/supportgate/config.toml: OK") {
		t.Errorf("check as root: %s", out)
	}
	asUser := exec.Command("/usr/bin/supportgate", "check", "-config", "/etc/supportgate/config.toml")
	asUser.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}}
	if b, err := asUser.CombinedOutput(); err != nil || !strings.Contains(string(b), ": OK") {
		t.Errorf("check as supportgate: %v %s", err, b)
	}
	out = mustRun(t, "/usr/bin/supportgate", "--help")
	for _, c := range []string{"serve", "check", "explain", "version"} {
		if !strings.Contains(out, "\n  "+c+" ") {
			t.Errorf("--help does not list %s:\n%s", c, out)
		}
	}
	if out := mustRun(t, "/usr/bin/supportgate", "check", "-h"); !strings.HasPrefix(out, "Usage: supportgate check") {
		t.Errorf("check -h: %s", out)
	}

	unit, err := os.ReadFile(unitPath)
	if err != nil {
		t.Fatal(err)
	}
	checkUnit(t, string(unit))
	if _, err := exec.LookPath("systemd-analyze"); err == nil {
		args := []string{"verify"}
		if _, err := exec.LookPath("man"); err != nil {
			args = append(args, "--man=no")
		}
		if out, err := run(t, "systemd-analyze", append(args, unitPath)...); err != nil {
			t.Errorf("systemd-analyze verify: %v\n%s", err, out)
		}
	} else {
		t.Log("systemd-analyze not found: the unit is checked by its lines only")
	}
	if _, err := exec.LookPath("man"); err == nil {
		if out := mustRun(t, "man", "-w", "supportgate"); !strings.Contains(out, "/usr/share/man/man8/supportgate.8") {
			t.Errorf("man -w supportgate: %s", out)
		}
	}

	serveAsUser(t, uint32(uid), uint32(gid))

	// Installing again (the upgrade path) keeps the same user and the
	// admin's edit of the conffile.
	edited := "\n# edited by the admin\n"
	f, _ := os.OpenFile("/etc/supportgate/config.toml", os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(edited)
	f.Close()
	if out, err := dpkg(t, "-i", deb); err != nil {
		t.Fatalf("dpkg -i again: %v\n%s", err, out)
	}
	if u2, err := user.Lookup("supportgate"); err != nil || u2.Uid != u.Uid {
		t.Errorf("reinstall changed the user: %v %v", u2, err)
	}
	if text, _ := os.ReadFile("/etc/supportgate/config.toml"); !strings.HasSuffix(string(text), edited) {
		t.Errorf("reinstall lost the admin's edit of config.toml")
	}
}

// serveAsUser starts the installed binary as the supportgate user on the
// shipped config (moved to free ports) and waits for /healthz: the user can
// read its config and write its state folder. Then SIGTERM.
func serveAsUser(t *testing.T, uid, gid uint32) {
	t.Helper()
	text, err := os.ReadFile("/etc/supportgate/config.toml")
	if err != nil {
		t.Fatal(err)
	}
	smtpAddr, httpAddr, consoleAddr := freePort(t), freePort(t), freePort(t)
	cfg := string(text)
	cfg = strings.Replace(cfg, `listen = "127.0.0.1:8026"`, `listen = "`+consoleAddr+`"`, 1)
	cfg = strings.Replace(cfg, `listen = "127.0.0.1:2525"`, `listen = "`+smtpAddr+`"`, 1)
	cfg = strings.Replace(cfg, `listen = "127.0.0.1:8025"`, `listen = "`+httpAddr+`"`, 1)
	cfg = strings.Replace(cfg, `template = "templates/`, `template = "/etc/supportgate/templates/`, 1)
	cfg = strings.Replace(cfg, `file = "contacts.csv"`, `file = "/etc/supportgate/contacts.csv"`, 1)
	dir, err := os.MkdirTemp("", "supportgate-serve-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	os.Chmod(dir, 0o755)
	path := filepath.Join(dir, "config.toml")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	cmd := exec.Command("/usr/bin/supportgate", "serve", "-config", path)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uid, Gid: gid}}
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(40 * time.Second):
			cmd.Process.Kill()
			<-exited
			t.Errorf("serve did not stop on SIGTERM")
		}
	}()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get("http://" + httpAddr + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		select {
		case err := <-exited:
			exited <- err
			t.Fatalf("serve as supportgate exited: %v\n%s", err, logs.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve as supportgate: no /healthz within 30s\n%s", logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if _, err := os.Stat("/var/lib/supportgate/supportgate.db"); err != nil {
		t.Errorf("serve as supportgate made no database in /var/lib/supportgate: %v", err)
	}
	// The console's built-in login: its password readable by the service
	// user (and root) only.
	if fi, err := os.Stat("/var/lib/supportgate/console.password"); err != nil {
		t.Errorf("no console password file: %v", err)
	} else if st, ok := fi.Sys().(*syscall.Stat_t); fi.Mode().Perm() != 0o600 || !ok || st.Uid != uid {
		t.Errorf("console.password: mode %v, owner uid %v; want 0600, the supportgate user (%d)", fi.Mode().Perm(), fi.Sys(), uid)
	}
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// dpkg runs dpkg, waiting (up to two minutes) while another dpkg or apt
// holds the lock: CI may install Debian packages next to this test.
func dpkg(t *testing.T, args ...string) (string, error) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		cmd := exec.Command("dpkg", append([]string{"--force-confold"}, args...)...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		out, err := cmd.CombinedOutput()
		if err == nil || !strings.Contains(string(out), "lock") || time.Now().After(deadline) {
			return string(out), err
		}
		time.Sleep(time.Second)
	}
}
