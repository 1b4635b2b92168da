package analysis

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

var (
	utc  = Layout{Zone: time.UTC}
	full = Layout{Zone: time.UTC, Full: true}
)

func TestWords(t *testing.T) {
	for _, tt := range []struct{ got, want string }{
		{Plural(1, "recipient"), "1 recipient"},
		{Plural(0, "recipient"), "0 recipients"},
		{Since(5 * time.Second), "5 s"},
		{Since(3*time.Minute + 5*time.Second), "3 min 5 s"},
		{Since(4*time.Hour + 10*time.Minute), "4 h 10 min"},
		{Since(72 * time.Hour), "3 days"},
		{Delay(1500 * time.Millisecond), "1.5 s"},
		{Delay(90 * time.Second), "1.5 m"},
		{Delay(3 * time.Hour), "3.0 h"},
		{utc.Stamp(time.Time{}), ""},
		{Layout{Zone: time.FixedZone("CET", 3600)}.Stamp(time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)), "2026-11-27T11:00:00+01:00"},
		{utc.Clock(time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)), "2026-11-27 10:00:00 UTC"},
	} {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}

func TestRelayHeadline(t *testing.T) {
	t0 := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	clients := []ClientReport{
		{ClientIP: "192.0.2.1", Count: 2, First: t0.Add(time.Hour), Last: t0.Add(2 * time.Hour)},
		{ClientIP: "192.0.2.2", Count: 5, First: t0, Last: t0.Add(time.Hour)},
	}
	want := "RELAY ABUSE: 7 recipients relayed for 2 outside clients between 2026-11-27 10:00:00 UTC and 2026-11-27 12:00:00 UTC; most for 192.0.2.2 (5)"
	if got := RelayHeadline(clients, utc); got != want {
		t.Errorf("RelayHeadline = %q, want %q", got, want)
	}
}

func TestClientsTable(t *testing.T) {
	c := ClientReport{ClientIP: "192.0.2.1", Count: 3, Users: []string{"a", "b"}, Senders: []string{"x@s.example", "y@s.example"},
		Evidence: []string{"mail.log:1", "mail.log:9"}}
	relay := ClientsTable("relay", []ClientReport{c}, utc)
	if len(relay.Columns) != 10 || relay.Rows[0][6] != "x@s.example" || relay.Rows[0][9] != "mail.log:1" {
		t.Errorf("relay table %v: want the first sender and line without Full", relay)
	}
	if got := ClientsTable("relay", []ClientReport{c}, full).Rows[0][9]; got != "mail.log:1 mail.log:9" {
		t.Errorf("Full evidence %q, want every line", got)
	}
	auth := ClientsTable("auth", []ClientReport{c}, utc)
	if auth.Columns[3].Header != "USERS TRIED" || auth.Rows[0][3] != "a b" {
		t.Errorf("auth table %v: want the users tried", auth)
	}
}

func TestRecipientRow(t *testing.T) {
	r := Recipient{Recipient: "v@victim.example", Verdict: RelayAbuse, Evidence: []string{"mail.log:1", "mail.log:4"}}
	cols := RecipientColumns(utc)
	if len(cols) != len(tableRecipientColumns) || len(RecipientColumns(full)) != len(recipientColumns) {
		t.Fatalf("%d and %d columns, want %d and %d", len(cols), len(RecipientColumns(full)), len(tableRecipientColumns), len(recipientColumns))
	}
	row, err := RecipientRow(r, cols, utc)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for i, c := range cols {
		got[c.Name] = row[i]
	}
	// A recipient's last line is where its fate was logged.
	if got["recipient"] != r.Recipient || got["verdict"] != "relay_abuse" || got["evidence"] != "mail.log:4" {
		t.Errorf("row %v", got)
	}
}

func TestRadiusTableVerdicts(t *testing.T) {
	rad := []Radius{{Key: "client_ip", Value: "192.0.2.1", Verdicts: map[Verdict]int{"zz_new": 1, "aa_new": 2, RelayAbuse: 3}}}
	row := RadiusTable(rad, utc).Rows[0]
	if got := row[10]; got != "relay_abuse:3 aa_new:2 zz_new:1" {
		t.Errorf("verdicts %q: want the known ones first, then the unknown in order", got)
	}
}

func TestAccountsJSON(t *testing.T) {
	b, err := json.Marshal(AccountsJSON([]AccountReport{{Account: "alice", Verdict: AccountOK}}))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"first_abuse":null`, `"signals":[]`, `"sessions":[]`, `"evidence":[]`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("%s: no %s", b, want)
		}
	}
	if b, _ := json.Marshal(AccountsJSON(nil)); string(b) != "[]" {
		t.Errorf("no accounts = %s, want []", b)
	}
}

func TestTrafficCSVColumns(t *testing.T) {
	tr := Traffic{Totals: Counts{Received: 2}, Rejects: []Reason{{Count: 4, Reason: "Relay access denied"}},
		RecipientDomains: []DomainDelay{{Domain: "example.net", Delivered: 1, AvgDelay: 1500 * time.Millisecond}}}
	tab := TrafficCSV(tr, utc)
	for _, r := range tab.Rows {
		if len(r) != len(tab.Columns) {
			t.Errorf("row %v has %d cells for %d columns", r, len(r), len(tab.Columns))
		}
	}
	if len(tab.Rows) != 3 || tab.Rows[1][0] != "reject" || tab.Rows[2][len(tab.Columns)-2] != "1.500" {
		t.Errorf("rows %v", tab.Rows)
	}
}

func TestSpanText(t *testing.T) {
	t0 := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		f    Filter
		want string
	}{
		{Filter{}, "in the database"},
		{Filter{Since: t0}, "since 2026-11-27 10:00:00 UTC"},
		{Filter{Since: t0, Until: t0.Add(time.Hour + time.Millisecond)}, "between 2026-11-27 10:00:00 UTC and 2026-11-27 11:00:00 UTC"},
	} {
		if got := SpanText(tt.f, utc); got != tt.want {
			t.Errorf("SpanText(%+v) = %q, want %q", tt.f, got, tt.want)
		}
	}
}
