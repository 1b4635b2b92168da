package analysis

import (
	"bytes"
	"encoding/csv"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/relaysleuth/relaysleuth/parsers/exchange"
)

const exchangeDev = "../testdata/exchange/dev/"

var (
	exchangeRecv   = exchangeDev + "EXSRV2/TransportRoles/Logs/FrontEnd/ProtocolLog/SmtpReceive/RECV2025020614-1.LOG"
	exchangeMsgtrk = exchangeDev + "EXSRV2/TransportRoles/Logs/MessageTracking/MSGTRK2025020614-1.LOG"
	exchangeMD     = exchangeDev + "EXSRV2/TransportRoles/Logs/MessageTracking/MSGTRKMD2025020614-1.LOG"
)

// exchangeFile is one Exchange log: a path (for the parser's file-name
// hints) and its text, read from disk when empty.
type exchangeFile struct {
	path, text string
}

// correlateExchange feeds the files, each whole and in the order given, as
// ingest does, and returns the final state of every recipient by key.
func correlateExchange(t *testing.T, files ...exchangeFile) map[string]Recipient {
	t.Helper()
	p, err := LoadPolicy(exchangeDev + "config.json")
	if err != nil {
		t.Fatal(err)
	}
	c := NewCorrelator(p)
	got := map[string]Recipient{}
	for _, f := range files {
		text := f.text
		if text == "" {
			data, err := os.ReadFile(f.path)
			if err != nil {
				t.Fatal(err)
			}
			text = string(data)
		}
		feedLines(t, c, exchange.NewParser(exchange.Options{Log: exchange.LogTypeOf(f.path)}),
			filepath.Base(f.path), strings.TrimSuffix(text, "\n"))
		rs, _ := c.Flush()
		for _, r := range rs {
			got[r.Key] = r
		}
	}
	return got
}

// byRecipient returns the recipients by address; it fails on a repeat.
func byRecipient(t *testing.T, rs map[string]Recipient) map[string]Recipient {
	t.Helper()
	out := map[string]Recipient{}
	for _, r := range rs {
		if _, dup := out[r.Recipient]; dup {
			t.Errorf("recipient %s reported twice", r.Recipient)
		}
		out[r.Recipient] = r
	}
	return out
}

// The dev set's verdicts do not depend on which log is read first, and
// each log alone gives what it can prove.
func TestExchangeJoinOrder(t *testing.T) {
	all := map[string]Verdict{
		"sam.lee@nwtraders.example":   Inbound,
		"info@freemail-ru.example":    RelayAttemptRejected,
		"buyer@adatum.example":        AuthenticatedOutbound,
		"ap@adatum.example":           InternalOutbound,
		"victim01@webmail-br.example": RelayAbuse,
	}
	recv, trk, md := exchangeFile{path: exchangeRecv}, exchangeFile{path: exchangeMsgtrk}, exchangeFile{path: exchangeMD}
	for _, tt := range []struct {
		name  string
		files []exchangeFile
		want  map[string]Verdict
		note  string // in every accepted recipient's reason
	}{
		{"protocol first", []exchangeFile{recv, trk, md}, all, "joined to tracking RECEIVE"},
		{"tracking first", []exchangeFile{trk, md, recv}, all, "joined to tracking RECEIVE"},
		{"delivery first", []exchangeFile{md, recv, trk}, all, "joined to tracking RECEIVE"},
		{"protocol only", []exchangeFile{recv}, all, "receive protocol log only"},
		{"tracking only", []exchangeFile{md, trk}, map[string]Verdict{
			"sam.lee@nwtraders.example": Inbound,
			// Client Proxy: the Front End authenticated the session.
			"buyer@adatum.example":        AuthenticatedOutbound,
			"ap@adatum.example":           InternalOutbound,
			"victim01@webmail-br.example": RelayAbuse,
		}, "lower confidence: message tracking only"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := byRecipient(t, correlateExchange(t, tt.files...))
			if len(got) != len(tt.want) {
				t.Errorf("%d recipients, want %d", len(got), len(tt.want))
			}
			for rcpt, v := range tt.want {
				r, ok := got[rcpt]
				switch {
				case !ok:
					t.Errorf("%s: missing", rcpt)
				case r.Verdict != v:
					t.Errorf("%s: verdict %s, want %s (%s)", rcpt, r.Verdict, v, r.Reason)
				case r.Status != StatusRejected && !strings.Contains(r.Reason, tt.note):
					t.Errorf("%s: reason %q lacks %q", rcpt, r.Reason, tt.note)
				}
			}
			if r := got["victim01@webmail-br.example"]; r.ClientIP != "203.0.113.66" || r.QueueID != "30817263514542" {
				t.Errorf("relay: client %s queue id %s, want the real client and the hub's internal id", r.ClientIP, r.QueueID)
			}
			if r := got["sam.lee@nwtraders.example"]; len(tt.files) == 3 && (len(r.Deliveries) != 1 || r.Deliveries[0].Relay != "local") {
				t.Errorf("inbound: deliveries %+v, want the MSGTRKMD DELIVER", r.Deliveries)
			}
		})
	}
}

// trackingFields is the dev set's #Fields: header (Exchange 2016).
const trackingFields = "date-time,client-ip,client-hostname,server-ip,server-hostname,source-context,connector-id,source,event-id,internal-message-id,message-id,network-message-id,recipient-address,recipient-status,total-bytes,recipient-count,related-recipient-address,reference,message-subject,sender-address,return-path,message-info,directionality,tenant-id,original-client-ip,original-server-ip,custom-data,transport-traffic-type,log-id,schema-version"

// trackingLog writes a tracking log with the named fields of each row set.
func trackingLog(t *testing.T, rows ...map[string]string) string {
	t.Helper()
	var b bytes.Buffer
	b.WriteString("#Software: Microsoft Exchange Server\n#Log-type: Message Tracking Log\n#Fields: " + trackingFields + "\n")
	w := csv.NewWriter(&b)
	names := strings.Split(trackingFields, ",")
	for _, row := range rows {
		rec := make([]string, len(names))
		for i, n := range names {
			rec[i] = row[n]
		}
		if err := w.Write(rec); err != nil {
			t.Fatal(err)
		}
	}
	w.Flush()
	return b.String()
}

// receiveRow is a hub RECEIVE of a message the Front End proxied.
func receiveRow(at, id, msgID, rcpt, sender, client, direction string) map[string]string {
	return map[string]string{
		"date-time": at, "client-ip": "172.16.4.10", "client-hostname": "exsrv2.nwtraders.example",
		"server-ip": "172.16.4.10", "server-hostname": "EXSRV2", "source-context": "08DD435E619ACD99;" + at + ";0",
		"connector-id": `EXSRV2\Default EXSRV2`, "source": "SMTP", "event-id": "RECEIVE",
		"internal-message-id": id, "message-id": msgID, "recipient-address": rcpt, "sender-address": sender,
		"return-path": sender, "directionality": direction, "original-client-ip": client,
	}
}

func sendRow(at, id, msgID, rcpt, sender, mx string) map[string]string {
	return map[string]string{
		"date-time": at, "client-ip": "172.16.4.10", "client-hostname": "EXSRV2", "server-ip": "192.0.2.25",
		"server-hostname": mx, "connector-id": "To Internet", "source": "SMTP", "event-id": "SENDEXTERNAL",
		"internal-message-id": id, "message-id": msgID, "recipient-address": rcpt,
		"recipient-status": "250 2.1.5 Ok", "sender-address": sender, "return-path": sender, "directionality": "Incoming",
	}
}

func TestExchangeForwardAndBounce(t *testing.T) {
	const sys = "MicrosoftExchange329e71ec88ae4615bbc36ab6ce41109e@nwtraders.example"
	redirect := map[string]string{
		"date-time": "2025-02-06T15:00:01.100Z", "server-hostname": "EXSRV2", "source": "AGENT", "event-id": "REDIRECT",
		"internal-message-id": "500", "message-id": "<fw@adatum.example>", "recipient-address": "pat@gmail.example",
		"related-recipient-address": "pat.lee@nwtraders.example", "sender-address": "ann@adatum.example",
		"return-path": "ann@adatum.example", "directionality": "Incoming",
	}
	fail := map[string]string{
		"date-time": "2025-02-06T15:10:01.100Z", "server-hostname": "EXSRV2", "source": "ROUTING", "event-id": "FAIL",
		"internal-message-id": "600", "message-id": "<spam@promo.example>", "recipient-address": "nobody@nwtraders.example",
		"recipient-status": "[{LED=550 5.1.1 RESOLVER.ADR.RecipNotFound; not found};{MSG=};{FQDN=};{IP=};{LRT=}]",
		"sender-address":   "bob@promo.example", "return-path": "bob@promo.example", "directionality": "Incoming",
	}
	dsn := map[string]string{
		"date-time": "2025-02-06T15:10:01.200Z", "server-hostname": "EXSRV2", "source": "DSN", "event-id": "DSN",
		"internal-message-id": "601", "message-id": "<ndr601@nwtraders.example>", "recipient-address": "bob@promo.example",
		"reference": "<spam@promo.example>", "sender-address": sys, "return-path": "<>", "directionality": "Originating",
	}
	ndrSend := sendRow("2025-02-06T15:10:02.000Z", "601", "<ndr601@nwtraders.example>", "bob@promo.example", "<>", "mx.promo.example")
	log := trackingLog(t,
		receiveRow("2025-02-06T15:00:01.000Z", "500", "<fw@adatum.example>", "pat.lee@nwtraders.example", "ann@adatum.example", "198.51.100.140", "Incoming"),
		redirect,
		sendRow("2025-02-06T15:00:02.000Z", "500", "<fw@adatum.example>", "pat@gmail.example", "ann@adatum.example", "mx.gmail.example"),
		receiveRow("2025-02-06T15:10:01.000Z", "600", "<spam@promo.example>", "nobody@nwtraders.example", "bob@promo.example", "203.0.113.77", "Incoming"),
		fail, dsn, ndrSend,
	)
	got := byRecipient(t, correlateExchange(t, exchangeFile{path: "MSGTRK2025020615-1.LOG", text: log}))
	for rcpt, v := range map[string]Verdict{
		"pat.lee@nwtraders.example": Forwarded,
		"nobody@nwtraders.example":  Inbound,
		"bob@promo.example":         SystemBounce,
	} {
		if r, ok := got[rcpt]; !ok || r.Verdict != v {
			t.Errorf("%s: verdict %s, want %s (%s)", rcpt, r.Verdict, v, r.Reason)
		}
	}
	if len(got) != 3 {
		t.Errorf("%d recipients, want 3 (the forward target is not a recipient of its own): %v", len(got), got)
	}
	if r := got["nobody@nwtraders.example"]; r.Status != StatusBounced {
		t.Errorf("failed recipient status %s, want bounced", r.Status)
	}
}
