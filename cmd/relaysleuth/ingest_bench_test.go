package main

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// benchLines is the size of the generated log the ingest benchmarks read:
// big enough for the batching and the correlator's sweeps to matter.
const benchLines = 100000

// benchmarkIngest ingests run's log (a file, or a folder of them such as an
// Exchange log set) into a fresh database per iteration, the whole path a
// user's `relaysleuth ingest` takes, and reports lines/s and MB/s of log
// read.
func benchmarkIngest(b *testing.B, run corpusRun, logName string) {
	path := filepath.Join(run.dir, logName)
	size := logSize(b, path)
	dbDir := b.TempDir()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		db := filepath.Join(dbDir, fmt.Sprintf("%d.db", i))
		i++
		err := run1(b, "ingest", "--db", db, "--config", filepath.Join(run.dir, "config.json"),
			"--timezone", "UTC", "--progress", "never", path)
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		for _, suffix := range []string{"", "-wal", "-shm"} {
			os.Remove(db + suffix)
		}
		b.StartTimer()
	}
	sec := b.Elapsed().Seconds()
	b.ReportMetric(float64(b.N*benchLines)/sec, "lines/s")
	b.ReportMetric(float64(int64(b.N)*size)/sec/1e6, "MB/s")
}

// run1 runs one command line, its output discarded.
func run1(b *testing.B, args ...string) error {
	return runWithStdin(b.Context(), args, bytes.NewReader(nil), io.Discard, io.Discard)
}

// logSize is the size of the log text at path: a file's (uncompressed), or
// the sum of the files under a folder.
func logSize(b *testing.B, path string) int64 {
	var size int64
	err := filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if filepath.Ext(p) == ".gz" {
			size += gunzippedSize(b, p)
			return nil
		}
		fi, err := d.Info()
		size += fi.Size()
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	return size
}

func gunzippedSize(b *testing.B, path string) int64 {
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		b.Fatal(err)
	}
	n, err := io.Copy(io.Discard, zr)
	if err != nil {
		b.Fatal(err)
	}
	return n
}

// gzipFile writes path.gz beside path.
func gzipFile(b *testing.B, path string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(data)
	if err := zw.Close(); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(path+".gz", buf.Bytes(), 0o644); err != nil {
		b.Fatal(err)
	}
	return filepath.Base(path) + ".gz"
}

func BenchmarkIngest(b *testing.B) {
	for _, format := range []string{"postfix", "exim", "exchange"} {
		b.Run(format, func(b *testing.B) {
			run := writeGenerated(b, format, benchLines, 1)
			benchmarkIngest(b, run, run.logs[0])
		})
	}
	b.Run("postfix.gz", func(b *testing.B) {
		run := writeGenerated(b, "postfix", benchLines, 1)
		benchmarkIngest(b, run, gzipFile(b, filepath.Join(run.dir, run.logs[0])))
	})
}

// BenchmarkReingest reads a log already stored: the source's fingerprint
// and progress make it a no-op.
func BenchmarkReingest(b *testing.B) {
	run := writeGenerated(b, "postfix", benchLines, 1)
	db := filepath.Join(b.TempDir(), "rs.db")
	args := []string{"ingest", "--db", db, "--config", filepath.Join(run.dir, "config.json"),
		"--timezone", "UTC", "--progress", "never", filepath.Join(run.dir, run.logs[0])}
	if err := run1(b, args...); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if err := run1(b, args...); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*benchLines)/b.Elapsed().Seconds(), "lines/s")
}
