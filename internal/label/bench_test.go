package label

import (
	"bytes"
	"testing"

	"github.com/berriz/berriz/internal/loadtest"
)

// BenchmarkSheet measures the label sheet of a whole batch: 1,000 tags
// (MaxSheetCodes) as one PDF, in each sheet format, as GET
// /tags/<id>/sheet.pdf and its API twin generate it (QR matrices, vector
// modules, PDF objects). Issue 4's target: under 2 s (ns/op); cpu-s/op is
// the process's CPU time per sheet, what the wall time would be on an idle
// core. See docs/benchmarks.md.
func BenchmarkSheet(b *testing.B) {
	codes := testCodes(MaxSheetCodes)
	for _, f := range Formats {
		b.Run(f.ID, func(b *testing.B) {
			var pdf []byte
			cpu := loadtest.CPUTime()
			for b.Loop() {
				var err error
				if pdf, err = Sheet(f.ID, 0, 0, testURL, codes); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric((loadtest.CPUTime()-cpu).Seconds()/float64(b.N), "cpu-s/op")
			b.ReportMetric(float64(len(codes)), "labels")
			b.ReportMetric(float64(bytes.Count(pdf, []byte("/Type /Page "))), "pages")
			b.ReportMetric(float64(len(pdf))/1e6, "MB")
		})
	}
}
