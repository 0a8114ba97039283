// Package migrations embeds the numbered, forward-only SQL files that are the
// only definition of berriz's database schema. internal/postgres applies them
// with goose; nothing else creates or alters tables.
package migrations

import "embed"

// FS holds every migration file, named NNNNN_description.sql.
//
//go:embed *.sql
var FS embed.FS
