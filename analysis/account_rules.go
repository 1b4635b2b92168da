package analysis

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/netip"
	"time"
)

// AccountRules are the thresholds of the take-over signals (see
// AccountJudge). The zero value of a field means its default; the
// "accounts" object of the --config file sets them by their JSON names,
// durations written as Go durations ("90m", "6h").
type AccountRules struct {
	// SessionGap ends a session: mail from one account and one client
	// address with no more than SessionGap between messages is one session.
	SessionGap time.Duration
	// MinHistoryDays is how many days an account must have sent mail on
	// before the signals that compare with its past (new_network,
	// foreign_senders, odd_hours) are given: an account new to the logs
	// has no "usual".
	MinHistoryDays int
	// BruteforceFailures failed logins from the session's address within
	// BruteforceWindow before (or during) the session make
	// bruteforce_success; so do failed logins for the account from
	// BruteforceAddresses distinct addresses within a day before a
	// session from a network the account never used.
	BruteforceFailures  int
	BruteforceAddresses int
	BruteforceWindow    time.Duration
	// VolumeRecipients and VolumeDomains are the least recipients and
	// distinct external domains in one hour of a session that make
	// volume, and VolumeFactor how far above the account's own busiest
	// hour so far it must also be.
	VolumeRecipients int
	VolumeDomains    int
	VolumeFactor     float64
	// BounceRecipients and BounceShare: a session of at least
	// BounceRecipients recipients of which at least BounceShare were
	// bounced or deferred (and three times the account's usual share)
	// makes bounces.
	BounceRecipients int
	BounceShare      float64
	// Places, when not nil, tells the country and AS number of an address
	// (relaysleuth --geoip FILE.mmdb): a new /16 is then new_network only
	// if its country or its AS number is new to the account too.
	Places Locator
}

// A Place is where an address is, as a MaxMind-format database says; a
// field it does not know is zero.
type Place struct {
	Country string // ISO 3166-1 alpha-2
	ASN     uint32
}

// A Locator finds the Place of an address.
type Locator interface {
	Locate(ip netip.Addr) (Place, bool)
}

// DefaultAccountRules are the thresholds used when the --config file says
// nothing.
var DefaultAccountRules = AccountRules{
	SessionGap:          time.Hour,
	MinHistoryDays:      5,
	BruteforceFailures:  5,
	BruteforceAddresses: 5,
	BruteforceWindow:    time.Hour,
	VolumeRecipients:    50,
	VolumeDomains:       20,
	VolumeFactor:        4,
	BounceRecipients:    20,
	BounceShare:         0.3,
}

// withDefaults returns r with its zero fields set to the defaults.
func (r AccountRules) withDefaults() AccountRules {
	d := DefaultAccountRules
	set := func(v *int, def int) {
		if *v <= 0 {
			*v = def
		}
	}
	setD := func(v *time.Duration, def time.Duration) {
		if *v <= 0 {
			*v = def
		}
	}
	setF := func(v *float64, def float64) {
		if *v <= 0 {
			*v = def
		}
	}
	setD(&r.SessionGap, d.SessionGap)
	set(&r.MinHistoryDays, d.MinHistoryDays)
	set(&r.BruteforceFailures, d.BruteforceFailures)
	set(&r.BruteforceAddresses, d.BruteforceAddresses)
	setD(&r.BruteforceWindow, d.BruteforceWindow)
	set(&r.VolumeRecipients, d.VolumeRecipients)
	set(&r.VolumeDomains, d.VolumeDomains)
	setF(&r.VolumeFactor, d.VolumeFactor)
	set(&r.BounceRecipients, d.BounceRecipients)
	setF(&r.BounceShare, d.BounceShare)
	return r
}

// accountRulesFile is the "accounts" object of a --config file.
type accountRulesFile struct {
	SessionGap          string   `json:"session_gap"`
	MinHistoryDays      *int     `json:"min_history_days"`
	BruteforceFailures  *int     `json:"bruteforce_failures"`
	BruteforceAddresses *int     `json:"bruteforce_addresses"`
	BruteforceWindow    string   `json:"bruteforce_window"`
	VolumeRecipients    *int     `json:"volume_recipients"`
	VolumeDomains       *int     `json:"volume_domains"`
	VolumeFactor        *float64 `json:"volume_factor"`
	BounceRecipients    *int     `json:"bounce_recipients"`
	BounceShare         *float64 `json:"bounce_share"`
}

// parseAccountRules reads the "accounts" object of a --config file; an
// absent one gives the defaults. Unknown keys and values out of range are
// errors: a misspelt threshold must not pass for its default.
func parseAccountRules(raw json.RawMessage) (AccountRules, error) {
	r := DefaultAccountRules
	if len(bytes.TrimSpace(raw)) == 0 || string(bytes.TrimSpace(raw)) == "null" {
		return r, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var f accountRulesFile
	if err := dec.Decode(&f); err != nil {
		return r, fmt.Errorf("accounts: %v", err)
	}
	dur := func(name, s string, v *time.Duration) error {
		if s == "" {
			return nil
		}
		d, err := time.ParseDuration(s)
		if err != nil || d <= 0 {
			return fmt.Errorf("accounts: %s: want a positive duration like \"1h\", not %q", name, s)
		}
		*v = d
		return nil
	}
	num := func(name string, p *int, v *int) error {
		if p == nil {
			return nil
		}
		if *p < 1 {
			return fmt.Errorf("accounts: %s: want at least 1, not %d", name, *p)
		}
		*v = *p
		return nil
	}
	for _, err := range []error{
		dur("session_gap", f.SessionGap, &r.SessionGap),
		dur("bruteforce_window", f.BruteforceWindow, &r.BruteforceWindow),
		num("min_history_days", f.MinHistoryDays, &r.MinHistoryDays),
		num("bruteforce_failures", f.BruteforceFailures, &r.BruteforceFailures),
		num("bruteforce_addresses", f.BruteforceAddresses, &r.BruteforceAddresses),
		num("volume_recipients", f.VolumeRecipients, &r.VolumeRecipients),
		num("volume_domains", f.VolumeDomains, &r.VolumeDomains),
		num("bounce_recipients", f.BounceRecipients, &r.BounceRecipients),
	} {
		if err != nil {
			return r, err
		}
	}
	if p := f.VolumeFactor; p != nil {
		if *p < 1 {
			return r, fmt.Errorf("accounts: volume_factor: want at least 1, not %g", *p)
		}
		r.VolumeFactor = *p
	}
	if p := f.BounceShare; p != nil {
		if *p <= 0 || *p > 1 {
			return r, fmt.Errorf("accounts: bounce_share: want a share above 0 and at most 1, not %g", *p)
		}
		r.BounceShare = *p
	}
	return r, nil
}
