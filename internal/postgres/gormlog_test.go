package postgres

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// The statement's text is built only for what is logged, and what is
// logged is unchanged.
func TestLazyTrace(t *testing.T) {
	var out bytes.Buffer
	slogger := logger.NewSlogLogger(slog.New(slog.NewTextHandler(&out, nil)), logger.Config{
		SlowThreshold: time.Second, LogLevel: logger.Warn, IgnoreRecordNotFoundError: true})
	l := newLazyTrace(slogger, logger.Warn, time.Second)
	for _, c := range []struct {
		name  string
		begin time.Time
		err   error
		built bool
	}{
		{"fast and fine", time.Now(), nil, false},
		{"not found", time.Now(), gorm.ErrRecordNotFound, false},
		{"failed", time.Now(), errors.New("boom"), true},
		{"slow", time.Now().Add(-2 * time.Second), nil, true},
	} {
		out.Reset()
		built := false
		l.Trace(context.Background(), c.begin, func() (string, int64) { built = true; return "SELECT 1", 1 }, c.err)
		if built != c.built || (out.Len() > 0) != c.built {
			t.Errorf("%s: SQL built %v, logged %q; want %v", c.name, built, out.String(), c.built)
		}
	}
	// Info (db.Debug()) logs every statement, through the same wrapper.
	out.Reset()
	l.LogMode(logger.Info).Trace(context.Background(), time.Now(), func() (string, int64) { return "SELECT 2", 1 }, nil)
	if !strings.Contains(out.String(), "SELECT 2") {
		t.Errorf("Info level logged %q", out.String())
	}
	if _, ok := l.LogMode(logger.Silent).(lazyTrace); !ok {
		t.Error("LogMode dropped the wrapper")
	}
}
