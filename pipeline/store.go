package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"

	"github.com/relaysleuth/relaysleuth/parsers"
	"github.com/relaysleuth/relaysleuth/schema"
)

// OpenStore opens (creating if needed) the database db for writing: a
// SQLite file, or a PostgreSQL database (see schema.IsPostgres). A new file
// is created 0600, or 0640 and of group when one is given, whatever the
// umask: mail data stays as private as the logs. When the file cannot be
// written, the error says why in a user's terms (the directory does not
// exist, or is not writable), not SQLite's. A warning goes to warn when
// other users may read it.
func OpenStore(ctx context.Context, db, group string, warn io.Writer) (*schema.Store, error) {
	if schema.IsPostgres(db) {
		return schema.Open(ctx, db)
	}
	if err := schema.Writable(db); err != nil {
		return nil, fmt.Errorf("cannot write the database %s: %w", db, err)
	}
	if err := schema.CreatePrivate(db, group); err != nil {
		return nil, fmt.Errorf("create the database %s: %w", db, err)
	}
	warnWide(db, warn)
	return schema.Open(ctx, db)
}

// OpenExisting is OpenStore for a database that must exist already (a
// SQLite file is never created).
func OpenExisting(ctx context.Context, db, group string, warn io.Writer) (*schema.Store, error) {
	if _, err := os.Stat(db); err != nil && !schema.IsPostgres(db) {
		return nil, fmt.Errorf("database %s: %w", db, err)
	}
	return OpenStore(ctx, db, group, warn)
}

// OpenForReading opens an existing database for a report or an
// investigation: read-only when this user may not write it (a forensic
// copy, the service's own database), so that reading never needs more.
func OpenForReading(ctx context.Context, db string, warn io.Writer) (*schema.Store, error) {
	if schema.IsPostgres(db) {
		return schema.OpenReadOnly(ctx, db)
	}
	if _, err := os.Stat(db); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("database %s does not exist (run 'relaysleuth ingest' or 'relaysleuth scan' first)", db)
		}
		return nil, fmt.Errorf("database %s: %w", db, err)
	}
	warnWide(db, warn)
	if schema.Writable(db) != nil {
		return schema.OpenReadOnly(ctx, db)
	}
	return schema.OpenForReports(ctx, db)
}

// warnWide warns when other users may read the database: it holds who
// mailed whom, which Debian keeps from them in /var/log/mail.log (0640).
func warnWide(file string, w io.Writer) {
	if wide := schema.WiderThanOwner(file); len(wide) > 0 {
		fmt.Fprintf(w, "relaysleuth: warning: other users may read %s: mail data must not be wider than the logs; fix: chmod go-rwx %s*\n",
			parsers.Clean(strings.Join(wide, ", ")), parsers.Clean(file))
	}
}
