package tracker

import (
	"encoding/json"

	"supportgate/store"
)

// WarnedCommentJob is a comment job whose comment opens with a warning
// line: the pipeline uses it for a message that joined a thread by a
// Message-ID while failing sender authentication, so the specialist sees
// at once that it may be forged.
func (t *Tracker) WarnedCommentJob(threadID, warning string) *store.Job {
	data, _ := json.Marshal(struct {
		Thread  string `json:"thread"`
		Warning string `json:"warning"`
	}{threadID, warning})
	return &store.Job{Kind: KindComment, Data: data}
}

// warningLine is the bold first line of a warned comment ("" without).
func warningLine(w string) string {
	if w == "" {
		return ""
	}
	return "[B]⚠ " + escapeBBCode(w) + "[/B]\n"
}
