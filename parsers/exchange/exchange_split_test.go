package exchange

import (
	"bytes"
	"os"
	"slices"
	"testing"
)

// FuzzSplitComma checks that a line plainCSV accepts is split as
// csv.Reader splits it.
func FuzzSplitComma(f *testing.F) {
	for _, file := range []string{
		"../../testdata/exchange/dev/EXSRV2/TransportRoles/Logs/MessageTracking/MSGTRK2025020614-1.LOG",
		"../../testdata/exchange/dev/EXSRV2/TransportRoles/Logs/FrontEnd/ProtocolLog/SmtpReceive/RECV2025020614-1.LOG",
	} {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		for line := range bytes.SplitSeq(data, []byte("\n")) {
			f.Add(string(bytes.TrimSuffix(line, []byte("\r"))))
		}
	}
	for _, s := range []string{",", ",,", "a,", ",a", "a\rb,c", "a\r", "a,b\r", " a , b ", "\xff,\xfe", "a;b,[{c}]", "\x00,#"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		line := []byte(s)
		if bytes.IndexByte(line, '\n') >= 0 || !plainCSV(line) {
			return
		}
		want, err := splitCSV(line)
		if err != nil {
			t.Fatalf("csv: %q: %v", s, err)
		}
		if got := splitComma(nil, s); !slices.Equal(got, want) {
			t.Errorf("splitComma(%q) = %q, csv.Reader reads %q", s, got, want)
		}
	})
}
