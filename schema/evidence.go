package schema

import (
	"encoding/json"
	"strings"
)

// The evidence of a recipient or message is a list of "file:line"
// references, most of them to one file. Stored as a JSON list of strings in
// which consecutive references to one file share it: "file:12,15,31"
// (issue 13: the absolute path repeated per line was a third of a
// recipient's row). A string is still a JSON string that begins with the
// file, as Relocate expects; older values ("file:12" a reference) read the
// same. A reference always ends in ":line" (parsers.Pos.String), so a
// group's last colon is where its lines begin.

// encodeEvidence returns refs as stored.
func encodeEvidence(refs []string) string {
	groups := make([]string, 0, 2)
	lastFile := "\x00"
	for _, ref := range refs {
		file, line, ok := splitRef(ref)
		if ok && file == lastFile && len(groups) > 0 {
			groups[len(groups)-1] += "," + line
			continue
		}
		groups = append(groups, ref)
		lastFile = "\x00"
		if ok {
			lastFile = file
		}
	}
	b, _ := json.Marshal(groups)
	return string(b)
}

// decodeEvidence returns the references of a stored evidence value; a
// value that is not a JSON list of strings gives none.
func decodeEvidence(stored string) []string {
	var groups []string
	if json.Unmarshal([]byte(stored), &groups) != nil {
		return nil
	}
	refs := make([]string, 0, len(groups))
	for _, g := range groups {
		i := strings.LastIndexByte(g, ':')
		if i < 0 || !lineList(g[i+1:]) || !strings.Contains(g[i+1:], ",") {
			refs = append(refs, g)
			continue
		}
		for line := range strings.SplitSeq(g[i+1:], ",") {
			refs = append(refs, g[:i+1]+line)
		}
	}
	return refs
}

// splitRef splits "file:line" at its last colon; ok is false when what
// follows is not a line number.
func splitRef(ref string) (file, line string, ok bool) {
	i := strings.LastIndexByte(ref, ':')
	if i < 0 || i == len(ref)-1 || !lineList(ref[i+1:]) || strings.Contains(ref[i+1:], ",") {
		return "", "", false
	}
	return ref[:i], ref[i+1:], true
}

// lineList reports whether s is digits and commas, beginning and ending
// with a digit, with no two commas in a row.
func lineList(s string) bool {
	if s == "" || s[0] == ',' || s[len(s)-1] == ',' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == ',' && s[i-1] == ',' {
			return false
		}
		if c != ',' && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}
