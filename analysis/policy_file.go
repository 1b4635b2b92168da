package analysis

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// DefaultPolicyFile is the policy file read from the working directory
// when none is named.
const DefaultPolicyFile = "relaysleuth.json"

// FindPolicyFile is the policy file in force: config when named, else
// DefaultPolicyFile when there is one, else "".
func FindPolicyFile(config string) string {
	if config != "" {
		return config
	}
	if _, err := os.Stat(DefaultPolicyFile); err == nil {
		return DefaultPolicyFile
	}
	return ""
}

// PolicySource says where a policy comes from, given the command line's
// --config, --local-domains and --trusted-networks: "nowhere" for none.
func PolicySource(config, localDomains, trustedNets string) string {
	var from []string
	switch {
	case config != "":
		from = append(from, "--config "+config)
	case FindPolicyFile("") != "":
		abs, _ := filepath.Abs(DefaultPolicyFile)
		from = append(from, abs+" (found in the working directory)")
	}
	if localDomains != "" {
		from = append(from, "--local-domains "+localDomains)
	}
	if trustedNets != "" {
		from = append(from, "--trusted-networks "+trustedNets)
	}
	if len(from) == 0 {
		return "nowhere"
	}
	return strings.Join(from, " and ")
}

// ErrUnsafePolicy is wrapped by CheckPolicyFile's errors.
var ErrUnsafePolicy = errors.New("refused")

// CheckPolicyFile refuses a policy file that another user could have
// written, as ssh refuses such keys: whoever writes it decides what counts
// as relay abuse ("trusted_networks": ["0.0.0.0/0"] hides every relay).
// A file it cannot stat passes: LoadPolicy says why it cannot be read.
func CheckPolicyFile(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return nil
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && st.Uid != 0 && int(st.Uid) != os.Getuid() {
		return fmt.Errorf("%s: %w: it belongs to uid %d, neither you nor root, who could change what counts as relay abuse; use a policy file of your own", path, ErrUnsafePolicy, st.Uid)
	}
	if perm := fi.Mode().Perm(); perm&0o022 != 0 {
		who := "other users"
		if perm&0o002 == 0 {
			who = "its group"
		}
		return fmt.Errorf("%s: %w: %s may write it (mode %04o) and so change what counts as relay abuse; fix: chmod go-w %s", path, ErrUnsafePolicy, who, perm, path)
	}
	return nil
}

// Describe is the policy in one line: its local domains and trusted
// networks.
func (p Policy) Describe() string {
	var nets []string
	for _, n := range p.TrustedNetworks {
		nets = append(nets, n.String())
	}
	if len(nets) == 0 {
		nets = []string{"none"}
	}
	return fmt.Sprintf("local domains %s; trusted networks %s", strings.Join(p.LocalDomains, ", "), strings.Join(nets, ", "))
}

// ParseTime reads a time given by a user: RFC 3339, a date and time or a
// date without a zone (then in loc), or a duration back from now ("24h").
// "" is the zero time. The result is UTC.
func ParseTime(s string, now time.Time, loc *time.Location) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	for _, layout := range []string{time.RFC3339, "2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return t.UTC(), nil
		}
	}
	if d, err := time.ParseDuration(s); err == nil {
		return now.Add(-d).UTC(), nil
	}
	return time.Time{}, fmt.Errorf("bad time %q (want RFC 3339, YYYY-MM-DD or a duration like 24h)", s)
}

// NoteOf is the policy note of a forensic report given p, read from
// source; for a nil p, the note that none was given.
func NoteOf(p *Policy, source string) PolicyNote {
	if p == nil {
		return PolicyNote{LocalDomains: []string{}, TrustedNetworks: []string{}, Source: "none",
			Note: "no policy was given to this report (--config or --local-domains): the verdicts are those given when the logs were read (ingest, scan, tail) or by the last rejudge"}
	}
	n := PolicyNote{LocalDomains: p.LocalDomains, TrustedNetworks: []string{}, Source: source,
		Note: "the verdicts are those given when the logs were read or by the last rejudge: if this policy differs from that one, run relaysleuth rejudge with it"}
	for _, t := range p.TrustedNetworks {
		n.TrustedNetworks = append(n.TrustedNetworks, t.String())
	}
	return n
}

// ParseVerdict is the verdict named s, false when there is none of that
// name.
func ParseVerdict(s string) (Verdict, bool) {
	for _, v := range Verdicts {
		if string(v) == s {
			return v, true
		}
	}
	return "", false
}
