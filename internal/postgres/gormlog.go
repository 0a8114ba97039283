package postgres

import (
	"context"
	"errors"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// lazyTrace wraps GORM's slog logger so that a statement's text is built
// only when the statement is logged: a failed query, a slow one, or every
// one at Info level. GORM's slog logger calls fc — which interpolates the
// arguments into the SQL with regular expressions (logger.ExplainSQL) —
// for every statement before deciding, and that alone took about 7% of the
// CPU of a device page under load (BenchmarkTagLookup, docs/benchmarks.md).
type lazyTrace struct {
	logger.Interface
	level logger.LogLevel
	slow  time.Duration
}

// newLazyTrace returns l, configured with level and slow, behind lazyTrace.
func newLazyTrace(l logger.Interface, level logger.LogLevel, slow time.Duration) logger.Interface {
	return lazyTrace{Interface: l, level: level, slow: slow}
}

// LogMode keeps the wrapper when GORM changes the level (db.Debug()).
func (l lazyTrace) LogMode(level logger.LogLevel) logger.Interface {
	return lazyTrace{Interface: l.Interface.LogMode(level), level: level, slow: l.slow}
}

// Trace hands the statement to the wrapped logger only when it would log
// it, with the same rules (record-not-found errors are not logged).
func (l lazyTrace) Trace(ctx context.Context, begin time.Time, fc func() (string, int64), err error) {
	switch {
	case l.level <= logger.Silent:
		return
	case err != nil && !errors.Is(err, gorm.ErrRecordNotFound),
		l.slow > 0 && time.Since(begin) > l.slow,
		l.level >= logger.Info:
		l.Interface.Trace(ctx, begin, fc, err)
	}
}
