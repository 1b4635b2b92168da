package exchange

import (
	"testing"

	"github.com/relaysleuth/relaysleuth/parsers"
)

// Rows in the shapes of headerless copies (SIEM exports, rows pasted into a
// ticket, a file cut from a larger one); the values are ours.
var (
	rowTracking = `2025-02-06T14:37:54.529Z,203.0.113.66,mx.example,172.16.4.10,EXSRV2,08DD435E619ACFAB;2025-02-06T14:37:53.567Z;0,EXSRV2\Default EXSRV2,SMTP,RECEIVE,30817263514542,<1738853872.442@ylmf-pc>,4d1c52f0-5a6e-4c1e-0b6f-08dd46b6fc00,x@victim.example,,2203,1,,,hello,a@spam.example,a@spam.example,,Incoming,,203.0.113.66,,,Email,1a2b3c4d-0000-0000-0000-08dd46b6fc8b,15.01.2507.044`
	rowReceive  = `2025-02-06T14:37:53.593Z,EXSRV2\Default Frontend EXSRV2,08DD435E5CD61B5D,9,172.16.4.11:25,203.0.113.66:63356,>,535 5.7.3 Authentication unsuccessful,`
	rowSend     = `2025-02-06T14:37:55.100Z,Outbound to Internet,08DD435E5CD61C00,1,,198.51.100.9:25,*,,attempting to connect`
	rowW3C      = `2006-10-09 05:00:16 192.0.2.106 36A42160 SMTPSVC1 MX-PDC 192.168.1.2 0 RCPT - +TO:+<pam@corp.example> 250 0 29 27 0 SMTP - - - -`
)

func TestRowLog(t *testing.T) {
	for _, tt := range []struct {
		line string
		want LogType
	}{
		{rowTracking, LogTracking},
		{"\ufeff" + rowTracking + "\r", LogTracking},
		{rowReceive, LogReceive},
		{rowSend, LogSend},
		{rowW3C, LogW3C},
		{"#Fields: date-time,connector-id,session-id,sequence-number,local-endpoint,remote-endpoint,event,data,context", LogUnknown},
		{"2026-11-27 19:36:39 1xX1kN-0007i0-1Z <= fkim@gmail.example H=smtp.freemail.example [127.110.209.180] P=esmtps S=626", LogUnknown},
		{"2026-11-27T19:07:11.367985+00:00 vm postfix/smtpd[9708]: connect from unknown[127.0.0.9]", LogUnknown},
		{`2025-02-06T14:37:53.593Z,EXSRV2\Default,NOTHEX,9,172.16.4.11:25,203.0.113.66:63356,>,250 OK,`, LogUnknown},
		{`2025-02-06T14:37:54.529Z,a,b,c,d,e,f,SMTP,NOSUCHEVENT,1,<m>,n,r,,1,1,,,s,f,f,,Incoming,,,,,Email,l,15`, LogUnknown},
		{"2006-10-09 05:00:16 not-an-ip 36A42160 SMTPSVC1 MX-PDC 192.168.1.2 0 RCPT - +TO:+<pam@corp.example> 250 0 29 27 0 SMTP - - - -", LogUnknown},
		{"", LogUnknown},
	} {
		if got := RowLog([]byte(tt.line)); got != tt.want {
			t.Errorf("RowLog(%q) = %v, want %v", tt.line, got, tt.want)
		}
	}
	for _, l := range []LogType{LogTracking, LogReceive, LogSend, LogW3C, LogTrace} {
		if ParseLogType(l.String()) != l {
			t.Errorf("ParseLogType(%q) != %v", l.String(), l)
		}
	}
	if ParseLogType("nonsense") != LogUnknown || LogUnknown.String() != "" {
		t.Error("unknown log type")
	}
}

// TestHeaderlessRows: a row RowLog recognised reads with the default
// columns of its log.
func TestHeaderlessRows(t *testing.T) {
	for _, tt := range []struct {
		line string
		kind parsers.Kind
	}{
		{rowTracking, parsers.KindClient},
		{rowW3C, parsers.KindRcpt},
	} {
		p := NewParser(Options{Log: RowLog([]byte(tt.line))})
		evs, err := p.Parse(nil, []byte(tt.line), parsers.Pos{File: "export.csv", Line: 1})
		if err != nil || len(evs) == 0 || evs[0].Kind != tt.kind {
			t.Errorf("Parse(%q) = %+v, %v; want a %v", tt.line, evs, err, tt.kind)
		}
	}
}

// FuzzRowLog: RowLog reads any line a file may start with, without
// panicking, and a row it recognises parses with its log's default columns
// without a panic either.
func FuzzRowLog(f *testing.F) {
	for _, l := range []string{rowTracking, rowReceive, rowSend, rowW3C, "2006-10-09 05:00:16 x", "2025-02-06T14:37:54.529Z,a"} {
		f.Add(l)
	}
	f.Fuzz(func(t *testing.T, line string) {
		if log := RowLog([]byte(line)); log != LogUnknown {
			_, _ = NewParser(Options{Log: log}).Parse(nil, []byte(line), parsers.Pos{File: "fuzz", Line: 1})
		}
	})
}
