package postgres

import "testing"

// Every pager divides with PagesOf and skips with offsetOf: one rule for
// the listings of PageSize rows and those of their own size.
func TestPagesOfAndOffsetOf(t *testing.T) {
	for _, c := range []struct{ total, size, pages int }{
		{0, 25, 1}, {1, 25, 1}, {25, 25, 1}, {26, 25, 2}, {50, 25, 2}, {51, 25, 3},
		{0, 20, 1}, {40, 20, 2}, {41, 20, 3}, {7, 8, 1}, {9, 8, 2}, {3, 0, 3},
	} {
		if got := (Page{Total: c.total}).PagesOf(c.size); got != c.pages {
			t.Errorf("PagesOf(%d) of %d rows = %d, want %d", c.size, c.total, got, c.pages)
		}
	}
	if got, want := (Page{Total: 51}).Pages(), 3; got != want {
		t.Errorf("Pages() of 51 rows = %d, want %d", got, want)
	}
	if got, want := HandoverPages(41), 3; got != want {
		t.Errorf("HandoverPages(41) = %d, want %d", got, want)
	}
	for _, c := range []struct{ page, size, off int }{{-3, 25, 0}, {0, 25, 0}, {1, 25, 0}, {2, 25, 25}, {3, 8, 16}} {
		if got := offsetOf(c.page, c.size); got != c.off {
			t.Errorf("offsetOf(%d, %d) = %d, want %d", c.page, c.size, got, c.off)
		}
	}
	if offset(3) != 2*PageSize || handoverOffset(3) != 2*HandoverPageSize {
		t.Errorf("offset(3) = %d, handoverOffset(3) = %d", offset(3), handoverOffset(3))
	}
}
