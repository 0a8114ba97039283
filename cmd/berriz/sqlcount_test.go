package main

import (
	"context"
	"testing"

	"github.com/berriz/berriz/internal/postgres"
)

// sqlCount returns q(query, args...): the single integer the query
// answers, failing the test when it does not run.
func sqlCount(t *testing.T, db *postgres.DB) func(query string, args ...any) int {
	return func(query string, args ...any) int {
		t.Helper()
		var n int
		if err := db.SQL().QueryRowContext(context.Background(), query, args...).Scan(&n); err != nil {
			t.Fatalf("%s: %v", query, err)
		}
		return n
	}
}
