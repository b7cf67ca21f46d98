// Package docs holds the project's own reference documents (CONTRACT.md,
// bitrix24.md, autoreply-rules.md, benchmarks.md) and a test that keeps the
// code's citations of them, and the README's links, pointing at something
// that exists.
package docs
