package metrics

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// README's alerting table and its Prometheus rules say the same, and
// every metric they use is one this package defines.
func TestREADMEAlerts(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile("metrics.go")
	if err != nil {
		t.Fatal(err)
	}
	text := string(readme)
	i := strings.Index(text, "### Alerting")
	j := strings.Index(text[i:], "```yaml")
	k := strings.Index(text[i+j+7:], "```")
	if i < 0 || j < 0 || k < 0 {
		t.Fatal("README: no Alerting section with a yaml block")
	}
	table, yaml := text[i:i+j], text[i+j+7:i+j+7+k]
	rows := regexp.MustCompile("(?m)^\\| ([a-z ]+) \\| `([^`]+)`").FindAllStringSubmatch(table, -1)
	exprs := regexp.MustCompile(`(?m)^\s+expr: (.+)$`).FindAllStringSubmatch(yaml, -1)
	if len(rows) == 0 || len(rows) != len(exprs) {
		t.Fatalf("the table has %d alerts with an expression, the rules %d", len(rows), len(exprs))
	}
	var inYAML []string
	for _, e := range exprs {
		inYAML = append(inYAML, strings.TrimSpace(e[1]))
	}
	for _, r := range rows {
		found := false
		for _, e := range inYAML {
			if strings.HasPrefix(r[2], e) || strings.HasPrefix(e, r[2]) {
				found = true
			}
		}
		if !found {
			t.Errorf("alert %q (%s) is in the table but not in the Prometheus rules", r[1], r[2])
		}
	}
	for _, m := range regexp.MustCompile(`supportgate_[a-z_]+`).FindAllString(yaml, -1) {
		if !strings.Contains(string(src), `"`+m+`"`) && !strings.Contains(string(src), `"`+strings.TrimSuffix(m, "_total")+`"`) {
			t.Errorf("the rules use %s, which metrics.go does not define", m)
		}
	}
}
