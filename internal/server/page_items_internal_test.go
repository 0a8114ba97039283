package server

import (
	"testing"

	"github.com/berriz/berriz/internal/postgres"
)

// Listings read whole and paged in the server (tokens, push
// subscriptions) take their pages with pageItems.
func TestPageItems(t *testing.T) {
	all := make([]int, 2*postgres.PageSize+3)
	for i := range all {
		all[i] = i
	}
	for _, c := range []struct{ number, first, n int }{
		{0, 0, postgres.PageSize}, {1, 0, postgres.PageSize}, {2, postgres.PageSize, postgres.PageSize},
		{3, 2 * postgres.PageSize, 3}, {4, 0, 0}, {1000, 0, 0},
	} {
		got := pageItems(all, postgres.Page{Number: c.number, Total: len(all)})
		if len(got) != c.n || c.n > 0 && got[0] != c.first {
			t.Errorf("page %d: %d items from %v, want %d from %d", c.number, len(got), got, c.n, c.first)
		}
	}
	if got := pageItems([]string(nil), postgres.Page{Number: 1}); len(got) != 0 {
		t.Errorf("page of nothing: %v", got)
	}
}
