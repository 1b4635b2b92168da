package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/relaysleuth/relaysleuth/schema"
)

// openStore opens (creating if needed) the database for writing. When it
// cannot be written, the error says why in a user's terms (the directory
// does not exist, or is not writable), not SQLite's.
func openStore(ctx context.Context, file string) (*schema.Store, error) {
	if err := schema.Writable(file); err != nil {
		return nil, fmt.Errorf("cannot write the database %s: %w", file, err)
	}
	return schema.Open(ctx, file)
}

// openForReading opens an existing database for a report or an
// investigation: read-only when this user may not write it (a forensic
// copy, the service's own database), so that reading never needs more.
func openForReading(ctx context.Context, file string) (*schema.Store, error) {
	if _, err := os.Stat(file); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("database %s does not exist (run 'relaysleuth ingest' or 'relaysleuth scan' first)", file)
		}
		return nil, fmt.Errorf("database %s: %w", file, err)
	}
	if schema.Writable(file) != nil {
		return schema.OpenReadOnly(ctx, file)
	}
	return schema.Open(ctx, file)
}
