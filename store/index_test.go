package store

import (
	"fmt"
	"testing"
)

// Every key of an index is found where it is, and keys it lacks are not,
// whatever the number of entries (empty, one bucket, many).
func TestIndexFind(t *testing.T) {
	for _, n := range []int{0, 1, 2, 3, 7, 100, 5000} {
		x := &index{}
		for i := range n {
			x.ents = append(x.ents, entry{key: keyOf(1, fmt.Sprint("u", i)), vid: int64(i)})
		}
		x.buildDir()
		for i := range n {
			j := x.find(keyOf(1, fmt.Sprint("u", i)))
			if j < 0 || x.ents[j].vid != int64(i) {
				t.Fatalf("n=%d: find(u%d) = %d", n, i, j)
			}
		}
		for _, miss := range []string{"u-1", fmt.Sprint("u", n), "x"} {
			if j := x.find(keyOf(1, miss)); j >= 0 {
				t.Errorf("n=%d: find(%s) = %d, want -1", n, miss, j)
			}
		}
		if j := x.find(keyOf(2, "u0")); j >= 0 {
			t.Errorf("n=%d: a resource found a user's entry", n)
		}
	}
}
