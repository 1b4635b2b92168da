package main

import (
	"fmt"
	"os"
	"os/user"
	"strconv"
)

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
