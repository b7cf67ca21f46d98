package main

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
)

const tableHead = "%-16s %9s %5s %-5s %8s %8s %7s %9s %8s %8s %8s\n"

func printHeader(w io.Writer) {
	fmt.Fprintf(w, tableHead, "target", "size", "conc", "mode", "sent", "accepted", "failed", "msgs/s", "p50 ms", "p99 ms", "max ms")
}

// printRow writes one fixed-width line; errors follow on an indented line so
// the table stays greppable by column.
func printRow(w io.Writer, r result) {
	fmt.Fprintf(w, "%-16s %9d %5d %-5s %8d %8d %7d %9.1f %8.2f %8.2f %8.2f\n",
		r.Target, r.Size, r.Conc, r.Mode, r.Sent, r.Accepted, r.Failed, r.MsgsPerS, r.P50ms, r.P99ms, r.MaxMs)
	if len(r.Errors) > 0 {
		keys := make([]string, 0, len(r.Errors))
		for k := range r.Errors {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = fmt.Sprintf("%s=%d", k, r.Errors[k])
		}
		fmt.Fprintf(w, "  errors: %s\n", strings.Join(parts, " "))
	}
}

func printJSON(w io.Writer, r result) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}
