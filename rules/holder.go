package rules

import "sync/atomic"

// Holder is the config in force. A reload swaps it whole, so a session or
// job that read it once sees one consistent version.
type Holder struct{ p atomic.Pointer[Config] }

// NewHolder holds c.
func NewHolder(c *Config) *Holder { h := &Holder{}; h.p.Store(c); return h }

// Get returns the config in force.
func (h *Holder) Get() *Config { return h.p.Load() }

// Set puts c in force.
func (h *Holder) Set(c *Config) { h.p.Store(c) }
