//go:build !unix

package store

// allocEntries returns an empty slice with room for n entries, and the
// function that frees it (see index_unix.go).
func allocEntries(n int) ([]entry, func()) { return make([]entry, 0, max(n, 0)), func() {} }
