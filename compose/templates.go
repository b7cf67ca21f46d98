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

//go:embed templates/*.html templates/*.txt templates/logo.png
var defaultFS embed.FS

// TemplateData is what the subject, HTML and text templates see
// (docs/CONTRACT.md §4, and issue 10's working-hours fields). The
// acknowledgement and the specialist's answer share it, so one signature
// block serves both.
type TemplateData struct {
	Greeting string // contact name when known, else the sender's address
	Name     string
	Email    string
	Subject  string // the original subject, decoded
	TaskID   string // "" until the task exists
	// TaskURL is the task on the portal: an intranet page, for internal
	// mailboxes only; the default templates never link it.
	TaskURL string

	// The mailbox: its display name ("Служба поддержки"), address and
	// language ("ru", "en").
	Team     string
	Mailbox  string
	Language string

	// Working hours: InHours is whether the message came in working
	// time (true when the mailbox has no hours); NextOpen when work
	// starts again ("в понедельник, 4 января, в 9:00"); AnswerBy the
	// promise counted in working time from response_time ("" without).
	InHours  bool
	NextOpen string
	AnswerBy string

	// The specialist's answer: who wrote it, and the comment rendered
	// for each part.
	Specialist string
	Body       htmltemplate.HTML
	BodyText   string
}

// Templates is one parsed letter (the acknowledgement, or the specialist's
// answer): subject, HTML and optionally a text template, with the shared
// signature block, plus the images the HTML refers to. Parse once (config
// load, reload); it is safe for concurrent use.
type Templates struct {
	subject *texttemplate.Template
	html    *htmltemplate.Template
	text    *texttemplate.Template // nil: the text part is made from the HTML
	name    string                 // the HTML template's path, for messages
	assets  fs.FS                  // where relative <img src> files are read
	images  map[string][]byte      // preloaded literal srcs, by cleaned path
}

// Source is a template file: in FS at Path; Shown is how errors name it.
type Source struct {
	FS    fs.FS
	Path  string
	Shown string
}

// FileSource is a file on disk ("" gives the zero Source: the built-in one).
func FileSource(p string) Source {
	if p == "" {
		return Source{}
	}
	dir, file := filepath.Split(p)
	if dir == "" {
		dir = "."
	}
	return Source{FS: os.DirFS(dir), Path: file, Shown: p}
}

// Builtin is a built-in template file: kind "autoreply", "notify" or
// "signature", lang "ru" (default) or "en".
func Builtin(kind, lang string) Source {
	if lang != "en" {
		lang = "ru"
	}
	p := "templates/" + kind + "." + lang + ".html"
	return Source{FS: defaultFS, Path: p, Shown: "built-in " + kind + "." + lang + ".html"}
}

// LoadError says which template failed: "subject", "template" (the
// HTML or its text twin) or "signature".
type LoadError struct {
	Which string
	Err   error
}

func (e *LoadError) Error() string { return e.Err.Error() }
func (e *LoadError) Unwrap() error { return e.Err }

// funcs give templates what html/template would strip: Outlook's
// conditional comments around the 600 px column (its Word engine ignores
// max-width, so it gets a fixed-width table; every other client a fluid
// one).
var funcs = htmltemplate.FuncMap{
	"msoOpen": func() htmltemplate.HTML {
		return `<!--[if mso]><table role="presentation" width="600" cellpadding="0" cellspacing="0" border="0" align="center"><tr><td><![endif]-->`
	},
	"msoClose": func() htmltemplate.HTML { return `<!--[if mso]></td></tr></table><![endif]-->` },
}

// LoadTemplates parses the subject template text and the HTML template
// file; images named by literal relative <img src> are read from the HTML
// file's folder now, so a missing logo is a config error and not a broken
// reply later. Errors say which template failed and where. A file next to
// the HTML with the extension .txt is the text part's template.
func LoadTemplates(subjectTmpl, htmlPath string) (*Templates, error) {
	return Load(subjectTmpl, FileSource(htmlPath), Source{}, "ru")
}

// LoadTemplatesFS is LoadTemplates reading from fsys (htmlPath is an fs path).
func LoadTemplatesFS(fsys fs.FS, subjectTmpl, htmlPath string) (*Templates, error) {
	return Load(subjectTmpl, Source{FS: fsys, Path: htmlPath, Shown: htmlPath}, Source{}, "ru")
}

// Load parses one letter: main (the HTML, and its .txt twin if there is
// one) with the signature block sig defined first (the zero Source: the
// built-in signature of lang), so the main file may call
// {{template "signature" .}} or define its own.
func Load(subjectTmpl string, main, sig Source, lang string) (*Templates, error) {
	if main.FS == nil {
		main = Builtin("autoreply", lang)
	}
	if sig.FS == nil {
		sig = Builtin("signature", lang)
	}
	if strings.TrimSpace(subjectTmpl) == "" {
		subjectTmpl = DefaultSubject
	}
	st, err := texttemplate.New("subject").Option("missingkey=error").Parse(subjectTmpl)
	if err != nil {
		return nil, &LoadError{"subject", fmt.Errorf("autoreply subject template: %w", err)}
	}
	sigSrc, err := fs.ReadFile(sig.FS, sig.Path)
	if err != nil {
		return nil, &LoadError{"signature", fmt.Errorf("signature template %s: %w", sig.Shown, err)}
	}
	src, err := fs.ReadFile(main.FS, main.Path)
	if err != nil {
		return nil, &LoadError{"template", fmt.Errorf("autoreply html template %s: %w", main.Shown, err)}
	}
	ht := htmltemplate.New(path.Base(main.Path)).Option("missingkey=error").Funcs(funcs)
	if _, err := ht.New("signature.html").Parse(string(sigSrc)); err != nil {
		return nil, &LoadError{"signature", fmt.Errorf("signature template %s: %w", sig.Shown, err)}
	}
	if _, err := ht.Parse(string(src)); err != nil {
		return nil, &LoadError{"template", fmt.Errorf("autoreply html template %s: %w", main.Shown, err)}
	}
	t := &Templates{subject: st, html: ht, name: main.Shown, images: map[string][]byte{}}
	if txt, err := fs.ReadFile(main.FS, strings.TrimSuffix(main.Path, ".html")+".txt"); err == nil && strings.HasSuffix(main.Path, ".html") {
		tt := texttemplate.New(path.Base(main.Path) + ".txt").Option("missingkey=error")
		sigTxt, err := fs.ReadFile(sig.FS, strings.TrimSuffix(sig.Path, ".html")+".txt")
		if err != nil {
			sigTxt = []byte(`{{define "signature"}}{{end}}`)
		}
		if _, err := tt.New("signature.txt").Parse(string(sigTxt)); err != nil {
			return nil, &LoadError{"signature", fmt.Errorf("signature text template %s: %w", sig.Shown, err)}
		}
		if _, err := tt.Parse(string(txt)); err != nil {
			return nil, &LoadError{"template", fmt.Errorf("text template next to %s: %w", main.Shown, err)}
		}
		t.text = tt
	}
	if d := path.Dir(main.Path); d != "." {
		if t.assets, err = fs.Sub(main.FS, d); err != nil {
			return nil, &LoadError{"template", fmt.Errorf("autoreply html template %s: %w", main.Shown, err)}
		}
	} else {
		t.assets = main.FS
	}

	// A trial render finds errors that only show at execution (a misspelt
	// field).
	sample := TemplateData{Greeting: "Name", Name: "Name", Email: "user@example.com",
		Subject: "Subject", TaskID: "1", TaskURL: "https://example.com/task/1", Team: "Support",
		Mailbox: "support@example.com", Language: lang, InHours: true, NextOpen: "x", AnswerBy: "y",
		Specialist: "Name", Body: "<p>x</p>", BodyText: "x"}
	if _, err := t.renderSubject(sample); err != nil {
		return nil, &LoadError{"subject", err}
	}
	if _, err := t.renderHTML(sample); err != nil {
		return nil, &LoadError{renderWhich(err), err}
	}
	if _, err := t.renderText(sample); err != nil {
		return nil, &LoadError{renderWhich(err), err}
	}
	// Literal srcs in the source must exist now; a src built by the
	// template ({{...}}) is read when a reply is rendered. The
	// signature's images come from its own folder unless the main
	// template's folder has the same file.
	for _, f := range []struct {
		src  string
		fsys fs.FS
		dir  string
		key  string
	}{{string(src), main.FS, path.Dir(main.Path), "template"}, {string(sigSrc), sig.FS, path.Dir(sig.Path), "signature"}} {
		for _, m := range findImages(f.src) {
			p, ok := assetPath(m.src)
			if !ok || strings.Contains(m.src, "{{") {
				continue
			}
			if _, have := t.images[p]; have {
				continue
			}
			b, err := fs.ReadFile(f.fsys, path.Join(f.dir, p))
			if err != nil {
				if f.key == "signature" {
					continue // the template does not have to use the signature
				}
				return nil, &LoadError{f.key, fmt.Errorf("autoreply html template %s: image %q: %w", main.Shown, m.src, err)}
			}
			t.images[p] = b
		}
	}
	return t, nil
}

// DefaultTemplates returns the built-in templates; lang is "ru" (default) or "en".
func DefaultTemplates(lang string) (*Templates, error) { return BuiltinTemplates(lang, DefaultSubject) }

// BuiltinTemplates is the built-in HTML with the admin's subject template
// (for a config that sets [autoreply] subject but no template file).
func BuiltinTemplates(lang, subject string) (*Templates, error) {
	return Load(subject, Builtin("autoreply", lang), Source{}, lang)
}

// NotifyTemplates is the specialist's answer: main, or the built-in one
// of lang, with sig (or the built-in signature).
func NotifyTemplates(main, sig Source, lang string) (*Templates, error) {
	if main.FS == nil {
		main = Builtin("notify", lang)
	}
	return Load(DefaultSubject, main, sig, lang)
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

// renderText is the text part from the .txt template ("" without one).
func (t *Templates) renderText(d TemplateData) (string, error) {
	if t.text == nil {
		return "", nil
	}
	var b strings.Builder
	if err := t.text.Execute(&b, d); err != nil {
		return "", fmt.Errorf("text template next to %s: %w", t.name, err)
	}
	return tidyText(b.String()), nil
}

// textOf is the text part: the text template's, else made from html.
func (t *Templates) textOf(d TemplateData, html string) (string, error) {
	if t.text == nil {
		return htmlToText(html), nil
	}
	return t.renderText(d)
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

// renderWhich tells a failing signature from a failing main template.
func renderWhich(err error) string {
	if strings.Contains(err.Error(), `executing "signature"`) {
		return "signature"
	}
	return "template"
}
