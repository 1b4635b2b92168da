package analysis

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/relaysleuth/relaysleuth/parsers"
)

// hopsStore is an InvestigationStore over a few events and recipients.
type hopsStore struct {
	events []parsers.Event
	rcpts  []Recipient
}

func (m *hopsStore) RecipientsBy(_ context.Context, k Key, v string, r TimeRange, fn func(Recipient) error) error {
	for _, rc := range m.rcpts {
		var field string
		switch k {
		case KeyQueueID:
			field = rc.QueueID
		case KeyMessageID:
			field = rc.MessageID
		case KeyClientIP:
			field = rc.ClientIP
		case KeyAuthUser:
			field = rc.AuthUser
		case KeySender:
			field = rc.Sender
		case KeyRecipient:
			field = rc.Recipient
		case KeyTime:
			field = v
		}
		if strings.EqualFold(field, v) && r.Contains(rc.Time) {
			if err := fn(rc); err != nil {
				return err
			}
		}
	}
	return nil
}

func (m *hopsStore) EventsBy(_ context.Context, f EventField, v string, r TimeRange) ([]parsers.Event, error) {
	var out []parsers.Event
	for _, ev := range m.events {
		field := ev.QueueID
		switch f {
		case ByNextQueueID:
			field = ev.NextQueueID
		case ByMessageID:
			field = ev.MessageID
		}
		if field == v && r.Contains(ev.Time) {
			out = append(out, ev)
		}
	}
	return out, nil
}

func (m *hopsStore) Logins(context.Context, string, TimeRange) ([]parsers.Event, error) {
	return nil, nil
}

func (m *hopsStore) AuthFailuresBy(context.Context, Key, string, TimeRange) ([]parsers.Event, error) {
	return nil, nil
}

var hopTime = time.Date(2026, 11, 27, 19, 28, 48, 0, time.UTC)

// hopStore holds one message on host "mail" (queue id 5DB02BC365) and
// one on Exchange host EXSRV2 found by its Message-ID.
func hopStore() *hopsStore {
	return &hopsStore{events: []parsers.Event{
		{Time: hopTime, Host: "mail", QueueID: "5DB02BC365", MessageID: "a@x.example"},
		{Time: hopTime, Host: "EXSRV2", QueueID: "e-1", MessageID: "ex@x.example"},
	}}
}

func TestMarkOwnHops(t *testing.T) {
	hop := func(by, id string) Received { return Received{By: by, ID: id, Time: hopTime} }
	tests := []struct {
		name      string
		messageID string
		hops      []Received
		q         Query
		want      []bool
	}{
		{
			name: "stored queue id, then the same host without one",
			hops: []Received{hop("mx.victim.example", "4Zf"), hop("mail.corp.example", "5DB02BC365"), hop("mail.corp.example", "")},
			want: []bool{false, true, true},
		},
		{
			// The sender's own Postfix is also called "mail": its queue
			// id is not ours.
			name: "a host of the same short name with a queue id not stored",
			hops: []Received{hop("mail.shop.other.example", "6C1F2A0E93")},
			want: []bool{false},
		},
		{
			name: "a queue id stored, but months away from the hop",
			hops: []Received{{By: "mail.corp.example", ID: "5DB02BC365", Time: hopTime.AddDate(0, 3, 0)}},
			want: []bool{false},
		},
		{
			// Exchange names no queue id: its host is known from the
			// events of the complaint's Message-ID.
			name: "Exchange hops by the logs' host name", messageID: "ex@x.example",
			hops: []Received{hop("mx.outside.example", ""), hop("exsrv2.nwtraders.example", ""), hop("EXSRV2.nwtraders.example", "")},
			want: []bool{false, true, true},
		},
		{
			name: "without the Message-ID's events, only the policy knows",
			hops: []Received{hop("exsrv2.nwtraders.example", ""), hop("mx.outside.example", "")},
			q:    Query{Policy: &Policy{LocalDomains: []string{"nwtraders.example"}}},
			want: []bool{true, false},
		},
		{
			// With local domains given, a short name must also be under
			// one of them.
			name: "short host name outside the local domains", messageID: "a@x.example",
			hops: []Received{hop("mail.shop.other.example", ""), hop("mail.corp.example", "")},
			q:    Query{Policy: &Policy{LocalDomains: []string{"corp.example"}}},
			want: []bool{false, true},
		},
		{
			// A subdomain hosted elsewhere ("!hosted.corp.example") is not
			// yours (issue 14).
			name: "a subdomain the policy excludes",
			hops: []Received{hop("mx.hosted.corp.example", ""), hop("mail.corp.example", "")},
			q:    Query{Policy: &Policy{LocalDomains: []string{"corp.example"}, NotLocal: []string{"hosted.corp.example"}}},
			want: []bool{false, true},
		},
		{
			name: "hosts named in the query",
			hops: []Received{hop("relay1.corp.example", ""), hop("relay2.corp.example", "")},
			q:    Query{Hosts: []string{"Relay2.corp.example."}},
			want: []bool{false, true},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := tt.q
			q.Complaint = &Complaint{MessageID: tt.messageID, Received: tt.hops}
			if err := markOwnHops(t.Context(), hopStore(), q, TimeRange{}); err != nil {
				t.Fatal(err)
			}
			var got []bool
			for _, r := range q.Complaint.Received {
				got = append(got, r.Own)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("own = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestPlaceholder(t *testing.T) {
	for a, want := range map[string]bool{
		"redacted": true, "[redacted]": true, "redacted@welovetotravel.example": true, "x": true, "<x>": true,
		"b6cf7e1a0096ba1caf76ee2c90aaaeaa@comcast.example": true, "user@localhost": true, "@x.example": true, "": true,
		"xxx@victim.example": true, "undisclosed-recipients@x.example": true,
		"zoe.silva@gmail.example": false, "x1@victim.example": false, "user@example.com": false,
	} {
		if got := placeholder(a); got != want {
			t.Errorf("placeholder(%q) = %v, want %v", a, got, want)
		}
	}
}

// TestInvestigateKeysFromOwnHops: a foreign hop's client and queue id
// are not tried; a placeholder recipient is not either; a report with
// notes and no key finds nothing without an error.
func TestInvestigateKeysFromOwnHops(t *testing.T) {
	st := hopStore()
	c := &Complaint{Kind: ComplaintARF, Received: []Received{
		ParseReceived("from mail.corp.example (mail.corp.example [192.0.2.25]) by mx.victim.example (Postfix) with ESMTPS id 4ZfT for <redacted>; Fri, 27 Nov 2026 19:28:49 +0000"),
		ParseReceived("from pc (unknown [203.0.113.9]) by mail.corp.example (Postfix) with ESMTP id 5DB02BC365; Fri, 27 Nov 2026 19:28:48 +0000"),
		ParseReceived("from localhost (localhost [127.0.0.1]) by pc.outside.example (Postfix) with ESMTP id 1F2E for <v@victim.example>; Fri, 27 Nov 2026 19:28:47 +0000"),
	}}
	inv, err := Investigate(t.Context(), st, Query{Complaint: c})
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, k := range inv.Keys {
		keys = append(keys, string(k.Key)+"="+k.Value)
	}
	want := []string{"queue_id=5DB02BC365", "client_ip=203.0.113.9", "recipient=v@victim.example"}
	if !slices.Equal(keys, want) {
		t.Errorf("keys %q, want %q", keys, want)
	}

	inv, err = Investigate(t.Context(), st, Query{Complaint: &Complaint{Kind: ComplaintBlocklist, Notes: []string{"a blocklist notice"}}})
	if err != nil || inv.Found || inv.Keys == nil || len(inv.Keys) != 0 {
		t.Errorf("blocklist notice: %+v, %v; want nothing found, no keys, no error", inv, err)
	}
	if _, err := Investigate(t.Context(), st, Query{Complaint: &Complaint{Kind: ComplaintMessage}}); err != ErrNoKeys {
		t.Errorf("a complaint with nothing in it: %v, want ErrNoKeys", err)
	}
}

// TestSameMessageID: the messages weak keys found are dropped when they
// have another Message-ID than the complaint's, which matched nothing.
func TestSameMessageID(t *testing.T) {
	keys := []KeyResult{{Key: KeyMessageID, Value: "gone@x.example"}, {Key: KeyRecipient, Value: "v@victim.example", weak: true, Used: true, Matched: 2}}
	roots := map[string]root{
		"<other@x.example>": {queueID: "A", messageID: "other@x.example", at: hopTime},
		"mail|B":            {queueID: "B", at: hopTime}, // no Message-ID logged: may be it
	}
	got := sameMessageID(keys, roots)
	if len(got) != 1 || got["mail|B"].queueID != "B" || !strings.Contains(keys[0].Note, "another Message-ID") {
		t.Errorf("kept %v, note %q; want only B and a note", got, keys[0].Note)
	}
	keys[0].Matched = 1 // it matched: the others met it already
	if got := sameMessageID(keys, roots); len(got) != 2 {
		t.Errorf("kept %d, want both when the Message-ID matched", len(got))
	}
	keys[0].Matched = 0
	keys = append(keys, KeyResult{Key: KeyQueueID, Value: "A", Used: true, Matched: 1})
	if got := sameMessageID(keys, roots); len(got) != 2 {
		t.Errorf("kept %d, want both when a queue id of your server's Received header found them", len(got))
	}
}
