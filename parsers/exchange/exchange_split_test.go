package exchange

import (
	"bytes"
	"os"
	"slices"
	"testing"
)

// FuzzSplitRow checks that splitRow reads a line as csv.Reader reads it.
func FuzzSplitRow(f *testing.F) {
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
	for _, s := range []string{",", ",,", "a,", ",a", "a\rb,c", "a\r", "a,b\r", " a , b ", "\xff,\xfe", "a;b,[{c}]", "\x00,#",
		`"a",b`, `"a,b",c`, `"a""b",c`, `"ab""`, `"a"""b",c`, `"a""",b`, `"abc"def,ghi`, `"a`, `"`, `""`, `"",`, `a"b,c`,
		`x,"a"`, `x,"a",`, `"a"b"c",d`, `""""`, `"""`, `"a" ,b`, `"\xff"",x`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		line := []byte(s)
		if len(line) == 0 || line[len(line)-1] == '\r' || bytes.IndexByte(line, '\n') >= 0 {
			return
		}
		want, err := splitCSV(line)
		if err != nil {
			t.Fatalf("csv: %q: %v", s, err)
		}
		if got := splitRow(nil, s); !slices.Equal(got, want) {
			t.Errorf("splitRow(%q) = %q, csv.Reader reads %q", s, got, want)
		}
	})
}
