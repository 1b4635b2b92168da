package schema

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"strconv"
)

// CreatePrivate creates the database file at file, empty, readable and
// writable by its owner only (0600), or also readable by group (0640) when
// group is not empty — whatever the umask. SQLite gives the -wal, -shm and
// -journal files it creates beside a database the database's own mode, so
// they are as private. An existing file is left alone.
func CreatePrivate(file, group string) error {
	mode := fs.FileMode(0o600)
	gid := -1
	if group != "" {
		g, err := user.LookupGroup(group)
		if err != nil {
			return fmt.Errorf("--group %s: %w", group, err)
		}
		if gid, err = strconv.Atoi(g.Gid); err != nil {
			return fmt.Errorf("--group %s: gid %q", group, g.Gid)
		}
		mode = 0o640
	}
	f, err := os.OpenFile(file, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if errors.Is(err, fs.ErrExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if gid >= 0 {
		if err := os.Chown(file, -1, gid); err != nil {
			os.Remove(file)
			return fmt.Errorf("--group %s: %w", group, err)
		}
	}
	// The umask may have taken bits off; it adds none, but say so exactly.
	return os.Chmod(file, mode)
}

// WiderThanOwner returns the database files (the database and its -wal,
// -shm and -journal files) that users other than the owner may read or
// write beyond group read, for a warning: mail data must not be wider than
// the logs it came from.
func WiderThanOwner(file string) []string {
	var wide []string
	for _, suffix := range []string{"", "-wal", "-shm", "-journal"} {
		fi, err := os.Stat(file + suffix)
		if err != nil {
			continue
		}
		if fi.Mode().Perm()&0o037 != 0 {
			wide = append(wide, fmt.Sprintf("%s (%04o)", file+suffix, fi.Mode().Perm()))
		}
	}
	return wide
}
