//go:build unix

package store

import (
	"syscall"
	"unsafe"
)

// allocEntries returns an empty slice with room for n entries outside the
// Go heap, and the function that frees it. A million users' index is
// about 150 MB of pointer-free entries: on the heap it would double the
// GC's heap goal (and the peak RSS) for the whole pull, and growing it by
// append would hold two copies at once.
func allocEntries(n int) ([]entry, func()) {
	if n <= 0 {
		return nil, func() {}
	}
	b, err := syscall.Mmap(-1, 0, n*int(unsafe.Sizeof(entry{})), syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		return make([]entry, 0, n), func() {}
	}
	return unsafe.Slice((*entry)(unsafe.Pointer(&b[0])), n)[:0], func() { syscall.Munmap(b) }
}
