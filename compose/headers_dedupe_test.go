package compose

import (
	"strings"
	"testing"
)

// The thread's record already ends with the message we answer; it is not
// listed twice.
func TestThreadIDsListEachOnce(t *testing.T) {
	irt, refs := threadIDs("b@x", []string{"a@x", "b@x"}, nil)
	if strings.Join(irt, " ") != "b@x" || strings.Join(refs, " ") != "a@x b@x" {
		t.Errorf("In-Reply-To %v, References %v", irt, refs)
	}
}
