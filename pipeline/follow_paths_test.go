package pipeline

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

func TestCheckFollowPaths(t *testing.T) {
	dir := t.TempDir()
	if err := CheckFollowPaths([]string{"-", filepath.Join(dir, "not-yet.log")}); err != nil {
		t.Errorf("a file yet to appear in an existing directory: %v", err)
	}
	if err := CheckFollowPaths([]string{"-", "-"}); !errors.Is(err, ErrStdinTwice) {
		t.Errorf("- twice: %v, want ErrStdinTwice", err)
	}
	if err := CheckFollowPaths([]string{filepath.Join(dir, "no", "mail.log")}); err == nil || !strings.Contains(err.Error(), "can never appear") {
		t.Errorf("a missing directory: %v, want an error", err)
	}
}
