package exchange

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/relaysleuth/relaysleuth/parsers"
)

// TestCorpus reads every log file copied from ../shared/corpus/exchange into
// testdata/exchange, through parsers.Scan as ingest does: no line may be
// malformed, and the events per kind are the ones counted by hand.
func TestCorpus(t *testing.T) {
	const dev = "../../testdata/exchange/dev/EXSRV2/TransportRoles/Logs/"
	const pub = "../../testdata/exchange/public/"
	for _, tt := range []struct {
		file string
		log  LogType // for the public samples that lost their header
		want map[string]int
	}{
		{dev + "FrontEnd/ProtocolLog/SmtpReceive/RECV2025020614-1.LOG", LogUnknown, map[string]int{
			"connect": 5, "disconnect": 5, "helo": 7, "tls": 2, "permit": 1, "auth": 1,
			"rcpt": 4, "reject": 1, "client": 4, "unsupported": 72}},
		{dev + "MessageTracking/MSGTRK2025020614-1.LOG", LogUnknown, map[string]int{
			"client": 4, "rcpt": 4, "delivery": 4, "sender": 4, "unsupported": 5}},
		{dev + "MessageTracking/MSGTRKMD2025020614-1.LOG", LogUnknown, map[string]int{"delivery": 1, "unsupported": 5}},
		{pub + "elastic-integrations/msgtrk_test-messagetracking.log", LogTracking, map[string]int{
			"client": 2, "rcpt": 2, "delivery": 2, "sender": 2}},
		{pub + "elastic-integrations/smtp_test-smtp_recv.log", LogReceive, map[string]int{"connect": 1, "helo": 1, "unsupported": 2}},
		{pub + "elastic-integrations/smtp_test-smtp_send.log", LogSend, map[string]int{"unsupported": 3}},
		{pub + "elastic-integrations/exo_messagetrace_test-log.log", LogUnknown, map[string]int{"delivery": 1}},
		{pub + "elastic-beats/bom8_msgtrk_ex2010.log", LogUnknown, map[string]int{"sender": 2, "unsupported": 5}},
		{pub + "ms-qa/recv_frontend_relay_denied_q179653.log", LogReceive, map[string]int{
			"permit": 1, "reject": 1, "disconnect": 1, "unsupported": 5}},
		{pub + "ms-qa/recv_hub_xproxyfrom_q162632.log", LogReceive, map[string]int{"rcpt": 1, "client": 1, "unsupported": 8}},
		{pub + "tstrueber-blog01/recv_frontend_anonymous_device.log", LogReceive, map[string]int{
			"connect": 1, "helo": 1, "rcpt": 1, "client": 1, "disconnect": 1, "unsupported": 9}},
		{pub + "ossec-docs/exchange2000_smtpsvc_w3c.log", LogUnknown, map[string]int{
			"helo": 6, "rcpt": 6, "client": 5, "disconnect": 9, "unsupported": 15}},
	} {
		t.Run(filepath.Base(tt.file), func(t *testing.T) {
			f, err := os.Open(tt.file)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			got := map[string]int{}
			st, err := parsers.Scan(t.Context(), f, tt.file, parsers.Start{}, NewParser(Options{Log: tt.log}),
				func(ev parsers.Event) error {
					got[ev.Kind.String()]++
					return nil
				},
				func(err error) { t.Errorf("malformed: %v", err) })
			if err != nil {
				t.Fatal(err)
			}
			if st.Unsupported > 0 {
				got["unsupported"] = int(st.Unsupported)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("events per kind = %v, want %v", got, tt.want)
			}
		})
	}
}
