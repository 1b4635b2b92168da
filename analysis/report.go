package analysis

import "time"

// Summary is what `report summary` shows: the whole store at a glance.
type Summary struct {
	Sources      int             `json:"sources"`
	Lines        int64           `json:"lines"`
	Events       int64           `json:"events"`
	Unsupported  int64           `json:"unsupported"`
	Malformed    int64           `json:"malformed"`
	First        time.Time       `json:"first"`
	Last         time.Time       `json:"last"`
	Verdicts     map[Verdict]int `json:"verdicts"`      // incidents: first hop of each message
	Hosts        map[string]int  `json:"hosts"`         // recipients per MTA host
	MTAs         map[string]int  `json:"mtas"`          // recipients per log format
	AuthFailures int             `json:"auth_failures"` // failed SASL attempts
	RelayClients int             `json:"relay_clients"` // distinct clients with relay_abuse
	Files        []SourceSummary `json:"files"`
}

// SourceSummary is one input file's counts.
type SourceSummary struct {
	Path        string `json:"path"`
	Format      string `json:"format"`
	Lines       int64  `json:"lines"`
	Events      int64  `json:"events"`
	Unsupported int64  `json:"unsupported"`
	Malformed   int64  `json:"malformed"`
	Complete    bool   `json:"complete"`
}

// ClientReport groups the recipients of one verdict by client: who relayed
// through the server (relay), who probed it (attempts), who guessed
// passwords (auth).
type ClientReport struct {
	ClientIP   string    `json:"client_ip"`
	ClientName string    `json:"client_name"`
	Count      int       `json:"count"` // recipients (or failed logins)
	Messages   int       `json:"messages"`
	Domains    int       `json:"domains"` // distinct recipient domains
	TopDomains []string  `json:"top_domains"`
	Senders    []string  `json:"senders"`
	Users      []string  `json:"users,omitempty"` // SASL user names tried
	First      time.Time `json:"first"`
	Last       time.Time `json:"last"`
	Evidence   []string  `json:"evidence"` // the first lines that prove it
}

// Filter narrows a report. Zero fields mean "any".
type Filter struct {
	Verdict     Verdict
	ClientIP    string
	Since       time.Time
	Until       time.Time
	IncludeHops bool // also list the later queue ids of a message (content filter, forward)
}
