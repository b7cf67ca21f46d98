package console

import (
	"fmt"
	"html/template"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"supportgate/store"
)

// The pictures, drawn here as SVG from the store's records: no chart
// library, no script.

var decisionColor = map[string]string{
	"reply": "#2e7d32", "no-reply": "#f9a825", "duplicate": "#90a4ae", "journal": "#5c6bc0", "error": "#c62828", "pending": "#bdbdbd",
}

var decisionOrder = []string{"reply", "no-reply", "duplicate", "journal", "error", "pending"}

const (
	svgW, svgH = 840, 220
	padL, padB = 44, 24
	padT       = 10
)

func esc(s string) string { return template.HTMLEscapeString(s) }

// axes draws the frame, a y scale up to max and day marks.
func axes(b *strings.Builder, s *store.Series, max float64, unit string) {
	plotH := float64(svgH - padB - padT)
	for i := 0; i <= 4; i++ {
		y := float64(padT) + plotH*(1-float64(i)/4)
		fmt.Fprintf(b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#e0e0e0"/>`, padL, y, svgW, y)
		fmt.Fprintf(b, `<text x="%d" y="%.1f" font-size="10" text-anchor="end" fill="#555">%s</text>`, padL-4, y+3, esc(trimFloat(max*float64(i)/4)+unit))
	}
	plotW := float64(svgW - padL)
	for h := 0; h < s.Hours; h++ {
		t := s.Start.Add(time.Duration(h) * time.Hour).Local()
		if t.Hour() == 0 {
			x := float64(padL) + plotW*float64(h)/float64(s.Hours)
			fmt.Fprintf(b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#bbb"/>`, x, padT, x, svgH-padB)
			fmt.Fprintf(b, `<text x="%.1f" y="%d" font-size="10" fill="#555">%s</text>`, x+2, svgH-padB+14, t.Format("02.01"))
		}
	}
}

func trimFloat(f float64) string {
	return strconv.FormatFloat(f, 'g', 3, 64)
}

// perHourSVG stacks the messages of each hour by decision.
func perHourSVG(s *store.Series, v *view) template.HTML {
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" role="img" aria-label="%s">`, svgW, svgH+18, esc(v.T("c.perhour")))
	max := 1
	total := make([]int, s.Hours)
	for _, c := range s.ByDecision {
		for i, n := range c {
			total[i] += n
			if total[i] > max {
				max = total[i]
			}
		}
	}
	scale := tickMax(float64(max))
	axes(&b, s, scale, "")
	plotW, plotH := float64(svgW-padL), float64(svgH-padB-padT)
	bw := plotW / float64(s.Hours)
	base := make([]float64, s.Hours)
	for _, d := range orderedDecisions(s) {
		for i, n := range s.ByDecision[d] {
			if n == 0 {
				continue
			}
			h := plotH * float64(n) / scale
			y := float64(padT) + plotH - base[i] - h
			fmt.Fprintf(&b, `<rect x="%.2f" y="%.2f" width="%.2f" height="%.2f" fill="%s"><title>%s %s: %d</title></rect>`,
				float64(padL)+bw*float64(i), y, math.Max(bw-0.5, 0.5), h, colorOf(d),
				esc(s.Start.Add(time.Duration(i)*time.Hour).Local().Format("02.01 15:00")), esc(v.T("dec."+d)), n)
			base[i] += h
		}
	}
	x := padL
	for _, d := range orderedDecisions(s) {
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="10" height="10" fill="%s"/><text x="%d" y="%d" font-size="11">%s</text>`,
			x, svgH+6, colorOf(d), x+14, svgH+15, esc(v.T("dec."+d)))
		x += 24 + 7*len([]rune(v.T("dec."+d)))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

func orderedDecisions(s *store.Series) []string {
	var out []string
	for _, d := range decisionOrder {
		if _, ok := s.ByDecision[d]; ok {
			out = append(out, d)
		}
	}
	var rest []string
	for d := range s.ByDecision {
		if _, ok := decisionColor[d]; !ok {
			rest = append(rest, d)
		}
	}
	sort.Strings(rest)
	return append(out, rest...)
}

func colorOf(d string) string {
	if c, ok := decisionColor[d]; ok {
		return c
	}
	return "#8d6e63"
}

// latencySVG draws p50 and p99 of the auto-reply latency per hour.
func latencySVG(s *store.Series, v *view) template.HTML {
	p50, p99 := make([]float64, s.Hours), make([]float64, s.Hours)
	max := 1.0
	for i, l := range s.ReplyLatency {
		p50[i], p99[i] = Percentile(l, 50), Percentile(l, 99)
		if p99[i] > max {
			max = p99[i]
		}
	}
	scale := tickMax(max)
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" role="img" aria-label="%s">`, svgW, svgH+18, esc(v.T("c.latency")))
	axes(&b, s, scale, "s")
	plotW, plotH := float64(svgW-padL), float64(svgH-padB-padT)
	for _, line := range []struct {
		vals  []float64
		color string
		name  string
	}{{p99, "#c62828", "p99"}, {p50, "#1565c0", "p50"}} {
		var pts []string
		flush := func() {
			if len(pts) > 0 {
				fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="1.5" points="%s"/>`, line.color, strings.Join(pts, " "))
				if len(pts) == 1 {
					fmt.Fprintf(&b, `<circle cx="%s" r="2" fill="%s"/>`, strings.Replace(pts[0], ",", `" cy="`, 1), line.color)
				}
			}
			pts = nil
		}
		for i, val := range line.vals {
			if len(s.ReplyLatency[i]) == 0 {
				flush() // no reply that hour: a gap, not a zero
				continue
			}
			x := float64(padL) + plotW*(float64(i)+0.5)/float64(s.Hours)
			y := float64(padT) + plotH*(1-val/scale)
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", x, y))
		}
		flush()
	}
	fmt.Fprintf(&b, `<rect x="%d" y="%d" width="10" height="10" fill="#1565c0"/><text x="%d" y="%d" font-size="11">p50</text>`, padL, svgH+6, padL+14, svgH+15)
	fmt.Fprintf(&b, `<rect x="%d" y="%d" width="10" height="10" fill="#c62828"/><text x="%d" y="%d" font-size="11">p99</text>`, padL+50, svgH+6, padL+64, svgH+15)
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// Percentile is the nearest-rank percentile of vals (0 when empty).
func Percentile(vals []float64, p float64) float64 {
	if len(vals) == 0 {
		return 0
	}
	s := append([]float64(nil), vals...)
	sort.Float64s(s)
	i := int(math.Ceil(p/100*float64(len(s)))) - 1
	if i < 0 {
		i = 0
	}
	return s[i]
}

// tickMax is a scale maximum whose four ticks are round numbers.
func tickMax(m float64) float64 { return 4 * niceMax(m/4) }

// niceMax rounds a maximum up to 1, 2 or 5 times a power of ten.
func niceMax(m float64) float64 {
	if m <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(m)))
	for _, f := range []float64{1, 2, 5, 10} {
		if f*p >= m {
			return f * p
		}
	}
	return 10 * p
}
