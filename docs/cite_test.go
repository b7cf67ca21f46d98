package docs

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var (
	heading  = regexp.MustCompile(`(?m)^#{2,3} (\d+(?:\.\d+)?)\.? `)
	citation = regexp.MustCompile(`docs/([a-z0-9-]+\.md)\)?\s*\(?((?:§\s?\d+(?:\.\d+)?(?:,\s*)?)+)`)
	section  = regexp.MustCompile(`§\s?(\d+(?:\.\d+)?)`)
	// A § that belongs to an RFC or another standard, not to our docs.
	standard = regexp.MustCompile(`(RFC|rfc) ?\d+[ ,]*(\(?[A-Za-z ]*\)? )?$|MS-OX[A-Z]+ ?$`)
	mdLink   = regexp.MustCompile(`\]\(([^)\s]+)\)`)
)

// sections returns the section numbers each of our docs defines.
func sections(t *testing.T) map[string]map[string]bool {
	t.Helper()
	out := map[string]map[string]bool{}
	files, _ := filepath.Glob("*.md")
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out[f] = map[string]bool{}
		for _, m := range heading.FindAllStringSubmatch(string(b), -1) {
			out[f][m[1]] = true
		}
	}
	return out
}

// repoFiles walks the repository (one level up) for the files that may
// cite our docs, skipping docs/ itself, build output and VCS data.
func repoFiles(t *testing.T, fn func(path, text string)) {
	t.Helper()
	err := filepath.WalkDir("..", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch d.Name() {
			case ".git", "bin", "dist", "demo-state", "results", "docs", "testdata":
				if p != ".." {
					return filepath.SkipDir
				}
			}
			return nil
		}
		if d.Type()&fs.ModeSymlink != 0 {
			return nil
		}
		switch filepath.Ext(p) {
		case ".go", ".sh", ".md", ".py":
		default:
			if d.Name() != "Makefile" && d.Name() != "run" {
				return nil
			}
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		fn(filepath.ToSlash(strings.TrimPrefix(p, "../")), string(b))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// Every "docs/F.md §N" in the code names a section that exists, and so
// does every bare § in package bitrix (which cites docs/bitrix24.md).
func TestCitationsResolve(t *testing.T) {
	secs := sections(t)
	n := 0
	repoFiles(t, func(path, text string) {
		for _, m := range citation.FindAllStringSubmatch(text, -1) {
			doc := secs[m[1]]
			if doc == nil {
				t.Errorf("%s cites docs/%s, which does not exist", path, m[1])
				continue
			}
			for _, s := range section.FindAllStringSubmatch(m[2], -1) {
				n++
				if !doc[s[1]] {
					t.Errorf("%s cites docs/%s §%s, which has no such section", path, m[1], s[1])
				}
			}
		}
		if !strings.HasPrefix(path, "bitrix/") || !strings.HasSuffix(path, ".go") {
			return
		}
		for _, line := range strings.Split(text, "\n") {
			for _, idx := range section.FindAllStringSubmatchIndex(line, -1) {
				before := line[:idx[0]]
				if standard.MatchString(before) || strings.Contains(before, "docs/") {
					continue
				}
				n++
				if s := line[idx[2]:idx[3]]; !secs["bitrix24.md"][s] {
					t.Errorf("%s: §%s is not a section of docs/bitrix24.md: %s", path, s, strings.TrimSpace(line))
				}
			}
		}
	})
	t.Logf("%d citations checked", n)
	if n < 20 {
		t.Errorf("only %d citations found: the patterns no longer match the code", n)
	}
}

// Nothing outside docs/ points at documents a clone of this repository
// does not have. The bench may still call the workspace's Postfix anchor
// script when it is there (docs/benchmarks.md §3).
func TestNoOutsideReferences(t *testing.T) {
	outside := []string{"shared/CONTRACT", "shared/bitrix24", "shared/reference", "API.md", "autoreply-and-threading", "helpdesk-anchors", "go-mail-anchors"}
	repoFiles(t, func(path, text string) {
		for i, line := range strings.Split(text, "\n") {
			for _, o := range outside {
				if strings.Contains(line, o) {
					t.Errorf("%s:%d refers to %s outside the repository: %s", path, i+1, o, strings.TrimSpace(line))
				}
			}
			if strings.Contains(line, "shared/") && !strings.Contains(line, "shared/bench/postfix-anchor.sh") {
				t.Errorf("%s:%d refers to the workspace's shared/ folder: %s", path, i+1, strings.TrimSpace(line))
			}
			for _, idx := range regexp.MustCompile(`CONTRACT\.md`).FindAllStringIndex(line, -1) {
				if !strings.HasSuffix(line[:idx[0]], "docs/") {
					t.Errorf("%s:%d cites CONTRACT.md without docs/: %s", path, i+1, strings.TrimSpace(line))
				}
			}
		}
	})
}

// The README's relative links (and bench/README.md's) work in a clone.
func TestReadmeLinks(t *testing.T) {
	for _, md := range []string{"../README.md", "../bench/README.md", "CONTRACT.md", "bitrix24.md", "autoreply-rules.md", "benchmarks.md"} {
		b, err := os.ReadFile(md)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range mdLink.FindAllStringSubmatch(string(b), -1) {
			u := m[1]
			if strings.Contains(u, "://") || strings.HasPrefix(u, "mailto:") {
				continue
			}
			p, frag, _ := strings.Cut(u, "#")
			target := filepath.Join(filepath.Dir(md), p)
			if p == "" {
				target = md
			}
			body, err := os.ReadFile(target)
			if err != nil {
				t.Errorf("%s links to %s, which a clone does not have", md, u)
				continue
			}
			if frag != "" && !hasAnchor(string(body), frag) {
				t.Errorf("%s links to %s: no heading makes the anchor #%s", md, u, frag)
			}
		}
	}
}

// hasAnchor: GitHub's anchor of a heading is its text lower-cased, spaces
// to dashes, punctuation dropped.
func hasAnchor(md, frag string) bool {
	for _, line := range strings.Split(md, "\n") {
		if !strings.HasPrefix(line, "#") {
			continue
		}
		h := strings.ToLower(strings.TrimSpace(strings.TrimLeft(line, "#")))
		var b strings.Builder
		for _, r := range h {
			switch {
			case r == ' ':
				b.WriteRune('-')
			case r == '-' || r == '_' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r > 127:
				b.WriteRune(r)
			}
		}
		if b.String() == frag {
			return true
		}
	}
	return false
}
