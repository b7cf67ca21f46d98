package compose

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	texttemplate "text/template"
)

// DefaultSubject is the auto-reply subject template when the config has none.
const DefaultSubject = "[autoreply] {{.Subject}}{{if .TaskID}} [#{{.TaskID}}]{{end}}"

//go:embed templates/autoreply.ru.html templates/autoreply.en.html templates/logo.png
var defaultFS embed.FS

// TemplateData is what the subject and HTML templates see (docs/CONTRACT.md §4).
type TemplateData struct {
	Greeting string // contact name when known, else the sender's address
	Name     string
	Email    string
	Subject  string // the original subject, decoded
	TaskID   string // "" until the task exists
	TaskURL  string
}

// Templates is the parsed, reusable pair of auto-reply templates plus the
// images the HTML refers to. Parse once (config load, reload); it is safe
// for concurrent use.
type Templates struct {
	subject *texttemplate.Template
	html    *htmltemplate.Template
	name    string            // the HTML template's path, for messages
	assets  fs.FS             // where relative <img src> files are read
	images  map[string][]byte // preloaded literal srcs, by cleaned path
}

// LoadTemplates parses the subject template text and the HTML template
// file; images named by literal relative <img src> are read from the HTML
// file's folder now, so a missing logo is a config error and not a broken
// reply later. Errors say which template failed and where.
func LoadTemplates(subjectTmpl, htmlPath string) (*Templates, error) {
	dir, file := filepath.Split(htmlPath)
	if dir == "" {
		dir = "."
	}
	return loadTemplates(os.DirFS(dir), subjectTmpl, file, htmlPath)
}

// LoadTemplatesFS is LoadTemplates reading from fsys (htmlPath is an fs path).
func LoadTemplatesFS(fsys fs.FS, subjectTmpl, htmlPath string) (*Templates, error) {
	return loadTemplates(fsys, subjectTmpl, htmlPath, htmlPath)
}

// loadTemplates does the work; shown is the HTML path as the admin wrote it.
func loadTemplates(fsys fs.FS, subjectTmpl, htmlPath, shown string) (*Templates, error) {
	if strings.TrimSpace(subjectTmpl) == "" {
		subjectTmpl = DefaultSubject
	}
	st, err := texttemplate.New("subject").Option("missingkey=error").Parse(subjectTmpl)
	if err != nil {
		return nil, fmt.Errorf("autoreply subject template: %w", err)
	}
	src, err := fs.ReadFile(fsys, htmlPath)
	if err != nil {
		return nil, fmt.Errorf("autoreply html template %s: %w", shown, err)
	}
	ht, err := htmltemplate.New(path.Base(htmlPath)).Option("missingkey=error").Parse(string(src))
	if err != nil {
		return nil, fmt.Errorf("autoreply html template %s: %w", shown, err)
	}
	t := &Templates{subject: st, html: ht, name: shown, images: map[string][]byte{}}
	if d := path.Dir(htmlPath); d != "." {
		if t.assets, err = fs.Sub(fsys, d); err != nil {
			return nil, fmt.Errorf("autoreply html template %s: %w", shown, err)
		}
	} else {
		t.assets = fsys
	}

	// A trial render finds errors that only show at execution (a misspelt
	// field).
	sample := TemplateData{Greeting: "Name", Name: "Name", Email: "user@example.com",
		Subject: "Subject", TaskID: "1", TaskURL: "https://example.com/task/1"}
	if _, err := t.renderSubject(sample); err != nil {
		return nil, err
	}
	if _, err := t.renderHTML(sample); err != nil {
		return nil, err
	}
	// Literal srcs in the source must exist now; a src built by the
	// template ({{...}}) is read when a reply is rendered.
	for _, m := range findImages(string(src)) {
		p, ok := assetPath(m.src)
		if !ok || strings.Contains(m.src, "{{") {
			continue
		}
		b, err := fs.ReadFile(t.assets, p)
		if err != nil {
			return nil, fmt.Errorf("autoreply html template %s: image %q: %w", shown, m.src, err)
		}
		t.images[p] = b
	}
	return t, nil
}

// DefaultTemplates returns the built-in templates; lang is "ru" (default) or "en".
func DefaultTemplates(lang string) (*Templates, error) { return BuiltinTemplates(lang, DefaultSubject) }

// BuiltinTemplates is the built-in HTML with the admin's subject template
// (for a config that sets [autoreply] subject but no template file).
func BuiltinTemplates(lang, subject string) (*Templates, error) {
	name := "templates/autoreply.ru.html"
	if strings.EqualFold(lang, "en") {
		name = "templates/autoreply.en.html"
	}
	return LoadTemplatesFS(defaultFS, subject, name)
}

func (t *Templates) renderSubject(d TemplateData) (string, error) {
	var b strings.Builder
	if err := t.subject.Execute(&b, d); err != nil {
		return "", fmt.Errorf("autoreply subject template: %w", err)
	}
	return cleanText(b.String()), nil
}

func (t *Templates) renderHTML(d TemplateData) (string, error) {
	var b bytes.Buffer
	if err := t.html.Execute(&b, d); err != nil {
		return "", fmt.Errorf("autoreply html template %s: %w", t.name, err)
	}
	return b.String(), nil
}

// image returns the bytes for a relative src: preloaded, else read now
// (a src built by the template at run time).
func (t *Templates) image(p string, fsys fs.FS) ([]byte, error) {
	if fsys == nil {
		if b, ok := t.images[p]; ok {
			return b, nil
		}
		fsys = t.assets
	}
	if fsys == nil {
		return nil, errors.New("no image folder")
	}
	return fs.ReadFile(fsys, p)
}
