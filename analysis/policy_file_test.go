package analysis

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestCheckPolicyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "policy.json")
	if err := os.WriteFile(path, []byte(`{"local_domains": ["corp.example"]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := CheckPolicyFile(path); err != nil {
		t.Errorf("CheckPolicyFile(0600) = %v, want nil", err)
	}
	for _, tt := range []struct {
		mode os.FileMode
		who  string
	}{{0o620, "its group may write it (mode 0620)"}, {0o606, "other users may write it (mode 0606)"}} {
		if err := os.Chmod(path, tt.mode); err != nil {
			t.Fatal(err)
		}
		err := CheckPolicyFile(path)
		if !errors.Is(err, ErrUnsafePolicy) || !strings.Contains(err.Error(), tt.who) || !strings.Contains(err.Error(), "chmod go-w "+path) {
			t.Errorf("CheckPolicyFile(%04o) = %v, want refused: %s, with the fix", tt.mode, err, tt.who)
		}
	}
	if err := CheckPolicyFile(filepath.Join(t.TempDir(), "none.json")); err != nil {
		t.Errorf("CheckPolicyFile(missing) = %v, want nil (LoadPolicy says why)", err)
	}
}

func TestDescribe(t *testing.T) {
	var p Policy
	if err := p.AddDomains("corp.example", "mail.example"); err != nil {
		t.Fatal(err)
	}
	if got, want := p.Describe(), "local domains corp.example, mail.example; trusted networks none"; got != want {
		t.Errorf("Describe = %q, want %q", got, want)
	}
	if err := p.AddNetworks("192.0.2.0/24", "2001:db8::1"); err != nil {
		t.Fatal(err)
	}
	if got, want := p.Describe(), "local domains corp.example, mail.example; trusted networks 192.0.2.0/24, 2001:db8::1/128"; got != want {
		t.Errorf("Describe = %q, want %q", got, want)
	}
}

func TestParseTime(t *testing.T) {
	now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	cet := time.FixedZone("CET", 3600)
	for _, tt := range []struct {
		in   string
		loc  *time.Location
		want time.Time
	}{
		{"", time.UTC, time.Time{}},
		{"2026-11-27", time.UTC, time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)},
		{"2026-11-27", cet, time.Date(2026, 11, 26, 23, 0, 0, 0, time.UTC)},
		{"2026-11-27 10:30:00", time.UTC, time.Date(2026, 11, 27, 10, 30, 0, 0, time.UTC)},
		{"2026-11-27T10:30:00+02:00", cet, time.Date(2026, 11, 27, 8, 30, 0, 0, time.UTC)},
		{"24h", cet, now.Add(-24 * time.Hour)},
	} {
		got, err := ParseTime(tt.in, now, tt.loc)
		if err != nil || !got.Equal(tt.want) || got.Location() != time.UTC {
			t.Errorf("ParseTime(%q, %v) = %v, %v; want %v UTC", tt.in, tt.loc, got, err, tt.want)
		}
	}
	if _, err := ParseTime("yesterday", now, time.UTC); err == nil {
		t.Error("ParseTime(yesterday) = nil error")
	}
}

func TestNoteOf(t *testing.T) {
	var p Policy
	if err := p.AddDomains("corp.example"); err != nil {
		t.Fatal(err)
	}
	if err := p.AddNetworks("192.0.2.0/24"); err != nil {
		t.Fatal(err)
	}
	n := NoteOf(&p, "--config x.json")
	if n.Source != "--config x.json" || len(n.TrustedNetworks) != 1 || n.TrustedNetworks[0] != "192.0.2.0/24" || !strings.Contains(n.Note, "rejudge") {
		t.Errorf("NoteOf = %+v", n)
	}
	// JSON readers get lists, never null, and are told no policy was given.
	if n := NoteOf(nil, ""); n.Source != "none" || n.LocalDomains == nil || n.TrustedNetworks == nil || !strings.Contains(n.Note, "no policy was given") {
		t.Errorf("NoteOf(nil) = %+v", n)
	}
}

func TestParseVerdict(t *testing.T) {
	if v, ok := ParseVerdict("relay_abuse"); !ok || v != RelayAbuse {
		t.Errorf("ParseVerdict(relay_abuse) = %q, %v", v, ok)
	}
	if _, ok := ParseVerdict("relay"); ok {
		t.Error("ParseVerdict(relay) = ok, want no such verdict")
	}
}

func TestPolicySource(t *testing.T) {
	if got, want := PolicySource("/etc/rs.json", "corp.example", "192.0.2.0/24"), "--config /etc/rs.json and --local-domains corp.example and --trusted-networks 192.0.2.0/24"; got != want {
		t.Errorf("PolicySource = %q, want %q", got, want)
	}
	if FindPolicyFile("") == "" {
		if got := PolicySource("", "", ""); got != "nowhere" {
			t.Errorf("PolicySource of nothing = %q, want nowhere", got)
		}
	}
}
