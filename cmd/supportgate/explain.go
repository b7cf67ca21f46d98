package main

import (
	"fmt"
	"io"

	"supportgate/rules"
)

func cmdExplain(args []string, stdout, stderr io.Writer) int {
	fmt.Fprintln(stderr, "supportgate: explain is not built yet")
	return 1
}

// checkMore runs the checks of the later stages (templates, contacts,
// the Bitrix24 webhook).
func checkMore(cfg *rules.Config, stdout io.Writer) error { return nil }
