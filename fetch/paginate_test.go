package fetch

import (
	"strings"
	"testing"
)

func TestPages(t *testing.T) {
	t.Run("repeat", func(t *testing.T) {
		p := NewPages("list users")
		for _, tok := range []string{"a", "b", "c"} {
			if err := p.Next(tok); err != nil {
				t.Fatalf("Next(%q) = %v", tok, err)
			}
		}
		err := p.Next("b")
		want := "list users: the server returned a pagination token it had returned before (page 4); refusing to loop"
		if err == nil || err.Error() != want {
			t.Errorf("Next(repeat) = %v, want %q", err, want)
		}
		if p.Count() != 3 {
			t.Errorf("Count = %d, want 3", p.Count())
		}
	})
	t.Run("max", func(t *testing.T) {
		p := &Pages{What: "list orgs", Max: 2}
		p.Next("1")
		p.Next("2")
		if err := p.Next("3"); err == nil || !strings.Contains(err.Error(), "more than 2 pages") {
			t.Errorf("Next past Max = %v, want a refusal", err)
		}
	})
}
