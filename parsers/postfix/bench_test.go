package postfix

import (
	"bytes"
	"os"
	"testing"
	"time"

	"github.com/relaysleuth/relaysleuth/parsers"
)

func benchmarkFile(b *testing.B, path string) {
	data, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	lines := bytes.Split(bytes.TrimSuffix(data, []byte("\n")), []byte("\n"))
	b.ReportAllocs()
	var dst []parsers.Event
	for b.Loop() {
		p := NewParser(Options{Year: 2026, Location: time.UTC})
		for i, line := range lines {
			dst, _ = p.Parse(dst[:0], line, parsers.Pos{Line: i + 1})
		}
	}
	sec := b.Elapsed().Seconds()
	b.ReportMetric(float64(b.N*len(lines))/sec, "lines/s")
	b.ReportMetric(float64(b.N*len(data))/sec/1e6, "MB/s")
}

// BenchmarkParse parses the development corpus (traditional syslog stamps).
func BenchmarkParse(b *testing.B) {
	benchmarkFile(b, "../../testdata/postfix/dev/postfix.log")
}

// BenchmarkParseRFC3339 parses the corpus written with rsyslog's RFC 3339
// stamps (Debian 12).
func BenchmarkParseRFC3339(b *testing.B) {
	benchmarkFile(b, "../../testdata/postfix/dev-alt/mail.log")
}
