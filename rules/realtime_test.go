package rules

import (
	"strings"
	"testing"
)

// The keys of issue 8: defaults, and bad values named by key.
func TestPortalBudgetKeys(t *testing.T) {
	c, err := Load(write(t, "ok.toml", minimal))
	if err != nil {
		t.Fatal(err)
	}
	if c.Queue.PortalWorkers != 64 || c.Bitrix.Burst != 50 || c.Bitrix.RatePerSecond != 2 {
		t.Errorf("defaults: portal_workers %d, burst %d, rate %g", c.Queue.PortalWorkers, c.Bitrix.Burst, c.Bitrix.RatePerSecond)
	}
	_, err = Load(write(t, "bad.toml", minimal+"[queue]\nportal_workers = 0\n[bitrix]\nburst = -1\n"))
	if err == nil {
		t.Fatal("no error")
	}
	for _, w := range []string{"queue.portal_workers: must be positive", "bitrix.burst: must be positive"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error does not mention %q:\n%v", w, err)
		}
	}
}
