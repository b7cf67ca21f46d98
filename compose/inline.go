package compose

import (
	"html"
	"io/fs"
	"mime"
	"net/http"
	"net/url"
	"path"
	"regexp"
	"strings"
)

// imgSrcRE finds the src of each <img>; group 1 is the value with its quotes.
// A regexp is enough: the HTML is our own template's output, not the world's.
var imgSrcRE = regexp.MustCompile(`(?is)<img\b[^>]*?\bsrc\s*=\s*("[^"]*"|'[^']*'|[^\s"'>]+)`)

type imgMatch struct {
	start, end int    // the src value, quotes included
	src        string // unquoted, entities decoded
}

func findImages(h string) []imgMatch {
	var out []imgMatch
	for _, m := range imgSrcRE.FindAllStringSubmatchIndex(h, -1) {
		v := h[m[2]:m[3]]
		if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') {
			v = v[1 : len(v)-1]
		}
		out = append(out, imgMatch{m[2], m[3], html.UnescapeString(strings.TrimSpace(v))})
	}
	return out
}

// assetPath maps a relative src ("logo.png", "img/a%20b.png") to an fs
// path; absolute URLs, cid:, data: and paths escaping the folder are not ours.
func assetPath(src string) (string, bool) {
	if src == "" || strings.HasPrefix(src, "/") || strings.HasPrefix(src, "#") {
		return "", false
	}
	u, err := url.Parse(src)
	if err != nil || u.Scheme != "" || u.Host != "" || u.Opaque != "" || u.Path == "" {
		return "", false
	}
	p := path.Clean(u.Path)
	if !fs.ValidPath(p) || p == "." {
		return "", false
	}
	return p, true
}

// inlineImage is one image part of the multipart/related body.
type inlineImage struct {
	cid, filename, ctype string
	data                 []byte
}

// embedImages rewrites every relative <img src> to cid: and returns the
// parts to attach. The same file used twice becomes one part. A file that
// cannot be read keeps its src: a reply with a broken logo beats no reply
// (zammad#6201 lost every reply to one missing signature image).
func embedImages(t *Templates, fsys fs.FS, h, host string) (string, []inlineImage, error) {
	matches := findImages(h)
	if len(matches) == 0 {
		return h, nil, nil
	}
	var b strings.Builder
	var parts []inlineImage
	byPath := map[string]string{} // path → cid
	last := 0
	for _, m := range matches {
		p, ok := assetPath(m.src)
		if !ok {
			continue
		}
		cid, seen := byPath[p]
		if !seen {
			data, err := t.image(p, fsys)
			if err != nil {
				continue
			}
			r, err := randomID(12)
			if err != nil {
				return "", nil, err
			}
			cid = r + "@" + hostOr(host)
			byPath[p] = cid
			parts = append(parts, inlineImage{cid: cid, filename: path.Base(p), ctype: imageType(p, data), data: data})
		}
		b.WriteString(h[last:m.start])
		b.WriteString(`"cid:` + cid + `"`)
		last = m.end
	}
	b.WriteString(h[last:])
	return b.String(), parts, nil
}

func imageType(p string, data []byte) string {
	if t := mime.TypeByExtension(path.Ext(p)); t != "" {
		t, _, _ = strings.Cut(t, ";")
		return t
	}
	return http.DetectContentType(data)
}
