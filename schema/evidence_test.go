package schema

import (
	"slices"
	"strings"
	"testing"
)

// TestEvidenceRoundTrip: every list of references reads back as written,
// whatever the file names hold (colons, commas, digits, quotes), grouped
// when consecutive references share a file.
func TestEvidenceRoundTrip(t *testing.T) {
	for _, refs := range [][]string{
		nil,
		{"/var/log/mail.log:12"},
		{"/var/log/mail.log:12", "/var/log/mail.log:15", "/var/log/mail.log:31"},
		{"a.log:1", "b.log:2", "a.log:3", "a.log:4"},
		{"odd:1,2:5", "odd:1,2:7", "c:\\logs\\x.log:9"},
		{"no line here", "trailing:", "x:1", "x:y", "x:2", `q"uote:3`, "x:3"},
		{"", ":5", ":6"},
	} {
		stored := encodeEvidence(refs)
		got := decodeEvidence(stored)
		if len(refs) == 0 && len(got) == 0 {
			continue
		}
		if !slices.Equal(got, refs) {
			t.Errorf("%q stored as %s reads %q", refs, stored, got)
		}
	}
	// Grouped, the path is stored once.
	var refs []string
	for i := range 8 {
		refs = append(refs, "/var/log/some/long/path/mail.log:"+strings.Repeat("1", i+1))
	}
	if stored := encodeEvidence(refs); strings.Count(stored, "/var/log") != 1 {
		t.Errorf("stored %s", stored)
	}
	// Values written before grouping read as they did.
	if got := decodeEvidence(`["/var/log/mail.log:3","/var/log/mail.log:4"]`); !slices.Equal(got, []string{"/var/log/mail.log:3", "/var/log/mail.log:4"}) {
		t.Errorf("old value reads %q", got)
	}
	if got := decodeEvidence(`not json`); got != nil {
		t.Errorf("garbage reads %q", got)
	}
}
