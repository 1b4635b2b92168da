package pipeline

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// ErrStdinTwice is CheckFollowPaths' error for "-" given more than once.
var ErrStdinTwice = errors.New("- given more than once")

// CheckFollowPaths checks the paths given to follow: standard input
// ("-") at most once, and each file's directory there. A file may not
// exist yet (it is followed once it appears); its directory must.
func CheckFollowPaths(paths []string) error {
	stdins := 0
	for _, p := range paths {
		if p == "-" {
			stdins++
		}
	}
	if stdins > 1 {
		return ErrStdinTwice
	}
	for _, p := range paths {
		if dir := filepath.Dir(p); p != "-" {
			if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
				return fmt.Errorf("%s: directory %s does not exist, so the file can never appear", p, dir)
			}
		}
	}
	return nil
}
