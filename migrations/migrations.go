// Package migrations holds the SQL migrations of nurture's own schema, numbered and
// embedded into the binary. River's tables come from rivermigrate, not from here.
package migrations

import "embed"

// FS holds the migration files, named NNN_description.sql.
//
//go:embed *.sql
var FS embed.FS
