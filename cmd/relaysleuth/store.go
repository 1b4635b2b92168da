package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/user"
	"strconv"
	"strings"

	"github.com/relaysleuth/relaysleuth/schema"
)

// openStore opens (creating if needed) the database for writing. When it
// cannot be written, the error says why in a user's terms (the directory
// does not exist, or is not writable), not SQLite's.
func openStore(ctx context.Context, c *commonFlags, warn io.Writer) (*schema.Store, error) {
	file := c.db
	if schema.IsPostgres(file) {
		return schema.Open(ctx, file)
	}
	if err := schema.Writable(file); err != nil {
		return nil, fmt.Errorf("cannot write the database %s: %w", file, err)
	}
	// Mail data stays as private as the logs: a new database is created
	// 0600 (0640 with --group), whatever the umask.
	if err := schema.CreatePrivate(file, c.group); err != nil {
		return nil, fmt.Errorf("create the database %s: %w", file, err)
	}
	warnWide(file, warn)
	return schema.Open(ctx, file)
}

// warnWide warns when other users may read the database: it holds who
// mailed whom, which Debian keeps from them in /var/log/mail.log (0640).
func warnWide(file string, w io.Writer) {
	if wide := schema.WiderThanOwner(file); len(wide) > 0 {
		fmt.Fprintf(w, "relaysleuth: warning: other users may read %s: mail data must not be wider than the logs; fix: chmod go-rwx %s*\n",
			clean(strings.Join(wide, ", ")), clean(file))
	}
}

// openForReading opens an existing database for a report or an
// investigation: read-only when this user may not write it (a forensic
// copy, the service's own database), so that reading never needs more.
func openForReading(ctx context.Context, file string, warn io.Writer) (*schema.Store, error) {
	if schema.IsPostgres(file) {
		return schema.OpenReadOnly(ctx, file)
	}
	if _, err := os.Stat(file); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("database %s does not exist (run 'relaysleuth ingest' or 'relaysleuth scan' first)", file)
		}
		return nil, fmt.Errorf("database %s: %w", file, err)
	}
	warnWide(file, warn)
	if schema.Writable(file) != nil {
		return schema.OpenReadOnly(ctx, file)
	}
	return schema.Open(ctx, file)
}

// createPrivate creates (or truncates) a file for output: 0600, or 0640 and
// of group when one is given, whatever the umask — a report holds the same
// mail data as the database.
func createPrivate(path, group string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, err
	}
	mode := os.FileMode(0o600)
	if group != "" {
		g, err := user.LookupGroup(group)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("--group %s: %w", group, err)
		}
		gid, _ := strconv.Atoi(g.Gid)
		if err := f.Chown(-1, gid); err != nil {
			f.Close()
			return nil, fmt.Errorf("--group %s: %w", group, err)
		}
		mode = 0o640
	}
	if err := f.Chmod(mode); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// isPostgres reports whether --db names a PostgreSQL database (a URL or
// libpq keywords), which has no file to check, create or remove.
func isPostgres(db string) bool { return schema.IsPostgres(db) }

// dbName is --db as messages show it: a PostgreSQL password masked.
func dbName(db string) string { return schema.DisplayName(db) }
