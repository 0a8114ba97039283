package servertest

import (
	"bytes"
	"sync"
)

// LogBuffer collects what a server or a command writes (its slog lines, its
// error output) for a test to read. Request handlers and background work
// write from their own goroutines while the test reads, so a bare
// bytes.Buffer would be a data race; the zero value is ready to use.
type LogBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends p; it never fails.
func (b *LogBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns everything written so far.
func (b *LogBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
