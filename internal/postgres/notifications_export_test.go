package postgres

import (
	"context"

	"gorm.io/gorm"
)

// NotifyOrgForTest writes notifications the way the areas do, through
// notifyOrg inside a transaction, for the store tests of the digest.
func (db *DB) NotifyOrgForTest(ctx context.Context, orgID int64, n Notice) error {
	return db.Tx(ctx, func(tx *gorm.DB) error { return notifyOrg(tx, orgID, n) })
}

// SetCubeBatch sets how many cube rows one statement of the totals reads
// and how many rows a page summed by commune reads before it ends at a
// commune's end (both n), with windows of communes starting at one, and
// returns a function that restores them.
func SetCubeBatch(n int) (restore func()) {
	oldBatch, oldPage, oldWindow := cubeBatch, pageRows, firstWindow
	cubeBatch, pageRows, firstWindow = n, n, 1
	return func() { cubeBatch, pageRows, firstWindow = oldBatch, oldPage, oldWindow }
}
