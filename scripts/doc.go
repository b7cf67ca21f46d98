// Package scripts holds the project's shell scripts (demo.sh) and the Go
// tests that run them as a user would.
package scripts
