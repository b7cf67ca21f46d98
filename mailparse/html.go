package mailparse

import (
	"strconv"
	"strings"

	"golang.org/x/net/html"
)

// HTMLToText renders an HTML body as plain text for a task description:
// paragraphs and line breaks survive, lists get "- " or "1. ", links keep
// their target as "text <url>", blockquotes (how webmail marks quoted
// history) become "> " lines so TrimQuoted can drop them, and styles,
// scripts and Outlook's <xml>/conditional comments disappear.
//
// We use the x/net/html tokenizer rather than k3a/html2text because the
// latter only breaks lines on attribute-less <p>, which turns Outlook's
// <p class=MsoNormal> mail into one long line.
func HTMLToText(s string) string {
	z := html.NewTokenizer(strings.NewReader(s))
	w := &textWriter{}
	skip := 0 // inside script/style/…
	inHead := false
	var links []linkState
	var lists []int // 0 for <ul>, next number for <ol>
	msoP := false   // the open <p> is Outlook's MsoNormal
	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			return w.String()
		case html.TextToken:
			if skip == 0 && !inHead {
				w.text(string(z.Text()))
			}
		case html.StartTagToken, html.SelfClosingTagToken, html.EndTagToken:
			name, hasAttr := z.TagName()
			tag := string(name)
			end := tt == html.EndTagToken
			if skipTags[tag] {
				if tt == html.StartTagToken {
					skip++
				} else if end && skip > 0 {
					skip--
				}
				continue
			}
			switch tag {
			case "head":
				inHead = !end
			case "body":
				inHead = false
			}
			if skip > 0 || inHead {
				continue
			}
			attrs := map[string]string{}
			for hasAttr {
				var k, v []byte
				k, v, hasAttr = z.TagAttr()
				attrs[string(k)] = string(v)
			}
			switch tag {
			case "br":
				w.br()
			case "p":
				if !end {
					msoP = strings.Contains(strings.ToLower(attrs["class"]), "msonormal")
				}
				if msoP {
					w.newline(1) // Outlook: one <p> per line, margins 0
				} else {
					w.newline(2)
				}
			case "h1", "h2", "h3", "h4", "h5", "h6":
				w.newline(2)
			case "blockquote":
				w.newline(1)
				if end {
					w.quote = max(w.quote-1, 0)
				} else {
					w.quote++
				}
			case "ul", "ol":
				w.newline(1)
				if end {
					if len(lists) > 0 {
						lists = lists[:len(lists)-1]
					}
				} else if len(lists) < 50 {
					lists = append(lists, map[bool]int{true: 1, false: 0}[tag == "ol"])
				}
			case "li":
				w.newline(1)
				if !end {
					if n := len(lists); n > 0 && lists[n-1] > 0 {
						w.text(strconv.Itoa(lists[n-1]) + ". ")
						lists[n-1]++
					} else {
						w.text("- ")
					}
				}
			case "td", "th":
				if end {
					w.text(" ")
				}
			case "a":
				if !end {
					if len(links) < 100 {
						links = append(links, linkState{href: attrs["href"], start: w.b.Len()})
					}
				} else if n := len(links); n > 0 {
					l := links[n-1]
					links = links[:n-1]
					w.link(l)
				}
			default:
				if blockTags[tag] {
					w.newline(1)
				}
			}
		}
	}
}

var skipTags = map[string]bool{
	"script": true, "style": true, "title": true, "noscript": true,
	"template": true, "xml": true, "svg": true, "object": true,
}

var blockTags = map[string]bool{
	"div": true, "tr": true, "table": true, "pre": true, "hr": true,
	"section": true, "article": true, "header": true, "footer": true,
	"address": true, "dl": true, "dt": true, "dd": true, "center": true,
	"form": true, "fieldset": true, "tbody": true, "thead": true, "main": true,
	"nav": true, "aside": true, "figure": true, "figcaption": true,
}

type linkState struct {
	href  string
	start int // output length when the link opened
}
