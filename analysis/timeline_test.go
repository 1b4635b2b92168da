package analysis

import (
	"testing"
	"time"

	"github.com/relaysleuth/relaysleuth/parsers"
)

func serverEvent(clock, host, daemon, status, text string, line int) parsers.Event {
	t, err := time.Parse(time.RFC3339, "2026-11-27T"+clock+"Z")
	if err != nil {
		panic(err)
	}
	return parsers.Event{Time: t, Host: host, Daemon: daemon, Format: "postfix", Kind: parsers.KindServer, Status: status,
		Reason: text, Pos: parsers.Pos{File: "mail.log", Line: line}}
}

func TestTimeline(t *testing.T) {
	at := func(clock string) time.Time { return serverEvent(clock, "", "", "", "", 0).Time }
	server := []parsers.Event{
		serverEvent("19:27:52", "mail", "master", parsers.ServerStart, "daemon started -- version 3.7.11, configuration /etc/postfix", 2),
		serverEvent("19:28:00", "mail", "smtpd", parsers.ServerWarning, "warning: process /usr/lib/postfix/sbin/smtpd pid 100 exit status 1", 10),
		serverEvent("19:28:45", "mail", "master", parsers.ServerReload, "reload -- version 3.7.11, configuration /etc/postfix", 361),
		serverEvent("19:28:53", "mail", "master", parsers.ServerReload, "reload -- version 3.7.11, configuration /etc/postfix", 556),
		serverEvent("19:29:30", "mail", "smtpd", parsers.ServerWarning, "warning: process /usr/lib/postfix/sbin/smtpd pid 2345 exit status 1", 900),
	}
	relay := VerdictSpan{Verdict: RelayAbuse, Count: 3,
		First: Recipient{Time: at("19:28:47"), Host: "mail", MTA: "postfix", Recipient: "a@outside.example", ClientIP: "192.0.2.9", Evidence: []string{"mail.log:373"}},
		Last:  Recipient{Time: at("19:28:55"), Host: "mail", MTA: "postfix", Recipient: "b@outside.example", ClientIP: "192.0.2.9", Evidence: []string{"mail.log:588"}}}
	once := VerdictSpan{Verdict: Inbound, Count: 1, First: Recipient{Time: at("19:28:45"), Recipient: "x@corp.example"}, Last: Recipient{Time: at("19:28:45")}}
	clients := []ClientReport{{ClientIP: "192.0.2.9", Count: 3, First: at("19:28:47"), Last: at("19:28:55"), Evidence: []string{"mail.log:377", "mail.log:380"}}}

	got := Timeline(server, []VerdictSpan{relay, once}, clients)
	var what []string
	for _, e := range got {
		what = append(what, e.Time.Format("15:04:05")+" "+e.What+" "+e.Kind)
	}
	want := []string{
		"19:27:52 server start",
		"19:28:00 server warning", // and the one at 19:29:30: numbers aside, the same warning
		"19:28:45 server reload",  // before the inbound recipient of the same second
		"19:28:45 verdict_first inbound",
		"19:28:47 verdict_first relay_abuse",
		"19:28:47 client_first relay_abuse",
		"19:28:53 server reload", // a reload 8 s after another is its own entry
		"19:28:55 verdict_last relay_abuse",
		"19:28:55 client_last relay_abuse",
	}
	if len(what) != len(want) {
		t.Fatalf("Timeline =\n%q\nwant\n%q", what, want)
	}
	for i := range want {
		if what[i] != want[i] {
			t.Errorf("entry %d = %q, want %q", i, what[i], want[i])
		}
	}
	if w := got[1]; w.Count != 2 || !w.Last.Equal(at("19:29:30")) || len(w.Evidence) != 2 || w.Evidence[1] != "mail.log:900" {
		t.Errorf("merged warning = %+v, want count 2, last 19:29:30, evidence mail.log:10 mail.log:900", w)
	}
	if c := got[5]; c.Subject != "192.0.2.9" || len(c.Evidence) != 1 || c.Evidence[0] != "mail.log:377" {
		t.Errorf("client entry = %+v", c)
	}

	change, ok := ChangeBefore(got, at("19:28:47"), "mail")
	if !ok || !change.Time.Equal(at("19:28:45")) || change.Kind != parsers.ServerReload || change.Evidence[0] != "mail.log:361" {
		t.Errorf("ChangeBefore(19:28:47) = %+v, %v; want the reload at 19:28:45", change, ok)
	}
	if _, ok := ChangeBefore(got, at("19:28:47"), "other"); ok {
		t.Error("ChangeBefore on a host without events found one")
	}
	if _, ok := ChangeBefore(got, at("19:27:00"), ""); ok {
		t.Error("ChangeBefore before every event found one")
	}
}

func TestTimelineExchangeLoadBurst(t *testing.T) {
	var server []parsers.Event
	for i := range 30 {
		ev := serverEvent("14:20:00", "EXSRV2", "msgtrk", parsers.ServerStart, "transport service started: message 3081726351"+string(rune('0'+i%10))+" loaded from the queue (LOAD)", i+1)
		ev.Format = "exchange"
		ev.Time = ev.Time.Add(time.Duration(i) * time.Second)
		server = append(server, ev)
	}
	// A restart an hour later is another entry.
	later := server[0]
	later.Time = later.Time.Add(time.Hour)
	server = append(server, later)
	got := Timeline(server, nil, nil)
	if len(got) != 2 || got[0].Count != 30 || got[1].Count != 1 || len(got[0].Evidence) != maxEvidence {
		t.Fatalf("Timeline of 30 LOADs and one an hour later = %+v, want two entries of 30 and 1", got)
	}
}
