package pipeline

import (
	"io"
	"net"
)

type ioReader = io.Reader

func parseIP(s string) net.IP { return net.ParseIP(s) }
