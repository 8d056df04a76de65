package idsnap

import _ "embed"

// Schema is the whole database schema. It builds a fresh file and ends with
// PRAGMA user_version, which store reads as the schema's version.
//
//go:embed schema.sql
var Schema string
