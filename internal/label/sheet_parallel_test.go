package label

import (
	"bytes"
	"runtime"
	"slices"
	"testing"

	"github.com/berriz/berriz/internal/berriz"
)

// Pages are drawn in parallel: the sheet is the same, byte for byte,
// whatever the number of workers, and a bad code anywhere is refused.
func TestSheetSameWithAnyWorkers(t *testing.T) {
	codes := testCodes(3*24 + 5) // four pages of 3x8
	prev := runtime.GOMAXPROCS(1)
	defer runtime.GOMAXPROCS(prev)
	one, err := Sheet("3x8-70x37", 0.5, -1, testURL, codes)
	if err != nil {
		t.Fatal(err)
	}
	runtime.GOMAXPROCS(4)
	four, err := Sheet("3x8-70x37", 0.5, -1, testURL, codes)
	if err != nil || !bytes.Equal(one, four) {
		t.Fatalf("4 workers: %d bytes, %v; 1 worker: %d bytes", len(four), err, len(one))
	}
	bad := append(slices.Clone(codes), "UUUU-UUUU")
	if _, err := Sheet("3x8-70x37", 0, 0, testURL, bad); berriz.As(err) == nil || berriz.As(err).Message != "error.tag_code" {
		t.Errorf("a bad code on the last page: %v", err)
	}
}
