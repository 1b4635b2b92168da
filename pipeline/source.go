package pipeline

import (
	"bufio"
	"bytes"
	"compress/bzip2"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"sync/atomic"
	"time"

	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

// sniffLines is how many lines are read to tell a file's format and time.
const sniffLines = 50

// Errors of Prepare for inputs that are skipped, not unreadable: an empty
// file (normal right after a rotation) and a file that is not a mail log.
var (
	ErrEmpty      = errors.New("empty file")
	ErrNotMailLog = errors.New("not a mail log")
)

// A SkipError is an input skipped for a reason that errors.Is tells
// (ErrEmpty, ErrNotMailLog).
type SkipError struct {
	Path   string
	msg    string
	reason error
}

func (e *SkipError) Error() string { return e.msg }
func (e *SkipError) Unwrap() error { return e.reason }

// An Input is one log to read, as Prepare found it.
type Input struct {
	Path    string // as the user gave it ("-" for stdin)
	Size    int64  // on disk (compressed size for .gz); 0 for stdin
	ModTime time.Time
	Format  Format
	First   time.Time // time of the first line that has one, for ordering
	// Why says how Format was chosen ("48 of the first 50 lines are
	// Postfix syslog lines"), for --verbose.
	Why string
	// Warning, if not empty, is to be said about the input before it is
	// read: it looks like another format than the one --input-format
	// forces, or most of its first lines do not read as its format.
	Warning   string
	gz        bool
	finger    string        // hash of the first line: the content's identity
	stdin     *bufio.Reader // standard input or a FIFO: readable once
	pipe      *os.File      // the FIFO behind stdin, if any
	readSoFar atomic.Int64  // bytes of the file on disk read, for the progress bar
}

// Expand turns the command line into files: a directory stands for
// the regular files under it, at any depth (an Exchange TransportRoles\Logs
// folder keeps each log in its own subfolder), in name order, skipping dot
// files and dot directories.
func Expand(paths []string) ([]string, []error) {
	var out []string
	var errs []error
	for _, p := range paths {
		if p == "-" {
			out = append(out, p)
			continue
		}
		fi, err := os.Stat(p)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if !fi.IsDir() {
			out = append(out, p)
			continue
		}
		err = filepath.WalkDir(p, func(path string, e fs.DirEntry, err error) error {
			if err != nil {
				errs = append(errs, err)
				return nil
			}
			if path != p && e.Name()[0] == '.' {
				if e.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
			if e.Type().IsRegular() {
				out = append(out, path)
			}
			return nil
		})
		if err != nil {
			errs = append(errs, err)
		}
	}
	return out, errs
}

// evidencePath is the path stored with in's lines as their evidence: an
// absolute one, so that a report read from another directory still points
// at them ("-" for standard input).
func (in *Input) evidencePath() string {
	if in.stdin != nil && in.pipe == nil {
		return in.Path
	}
	if abs, err := filepath.Abs(in.Path); err == nil {
		return abs
	}
	return in.Path
}

// OpenInput opens path, undoing gzip, bzip2, xz or zstd (told by their
// magic bytes, not the name), and returns a reader of the log text. The counter, if not nil,
// counts bytes read from disk.
func OpenInput(in *Input) (io.ReadCloser, error) {
	if in.stdin != nil {
		// Counted for the progress bar, which shows how much was read
		// and how fast when the size is not known.
		r := &countingReader{r: in.stdin, n: &in.readSoFar}
		if in.pipe != nil {
			return &readCloser{Reader: r, close: in.pipe.Close}, nil
		}
		return io.NopCloser(r), nil
	}
	f, err := os.Open(in.Path)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if !fi.Mode().IsRegular() && fi.Mode()&os.ModeNamedPipe == 0 {
		f.Close()
		return nil, fmt.Errorf("%s: not a regular file", in.Path)
	}
	cr := &countingReader{r: f, n: &in.readSoFar}
	br := bufio.NewReaderSize(cr, 64<<10)
	zr, err := decompress(br)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", in.Path, err)
	}
	if zr == nil {
		return &readCloser{Reader: br, close: f.Close}, nil
	}
	in.gz = true
	return &readCloser{Reader: zr, close: func() error {
		if c, ok := zr.(io.Closer); ok {
			c.Close()
		}
		return f.Close()
	}}, nil
}

// decompress returns a reader of br's content undone from the compression
// its magic bytes name — gzip, bzip2, xz or zstd, whatever logrotate's
// compresscmd was — or nil when br is not compressed.
func decompress(br *bufio.Reader) (io.Reader, error) {
	magic, _ := br.Peek(6)
	switch {
	case bytes.HasPrefix(magic, []byte{0x1f, 0x8b}):
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("bad gzip header: %w", err)
		}
		return zr, nil
	case bytes.HasPrefix(magic, []byte("BZh")):
		return bzip2.NewReader(br), nil
	case bytes.HasPrefix(magic, []byte{0xfd, '7', 'z', 'X', 'Z', 0x00}):
		zr, err := xz.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("bad xz header: %w", err)
		}
		return zr, nil
	case bytes.HasPrefix(magic, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		zr, err := zstd.NewReader(br, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true))
		if err != nil {
			return nil, fmt.Errorf("bad zstd header: %w", err)
		}
		return zr.IOReadCloser(), nil
	}
	return nil, nil
}

// openInputAt opens a plain file positioned at offset (a seek, not a
// read); other inputs are opened from the start and the caller skips.
func openInputAt(in *Input, offset int64) (rc io.ReadCloser, skipped bool, err error) {
	if offset == 0 || in.gz || in.stdin != nil {
		rc, err := OpenInput(in)
		return rc, false, err
	}
	f, err := os.Open(in.Path)
	if err != nil {
		return nil, false, err
	}
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		f.Close()
		return nil, false, err
	}
	in.readSoFar.Store(offset)
	cr := &countingReader{r: f, n: &in.readSoFar}
	return &readCloser{Reader: bufio.NewReaderSize(cr, 64<<10), close: f.Close}, true, nil
}

type readCloser struct {
	io.Reader
	close func() error
}

func (r *readCloser) Close() error { return r.close() }

type countingReader struct {
	r io.Reader
	n *atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// Prepare opens each input once to read its first lines: its format, its
// fingerprint and the time of its first line. Inputs that cannot be read or
// are not a known log come back as errors naming the file.
func Prepare(ctx context.Context, paths []string, o Options, stdin io.Reader) ([]*Input, []error) {
	var ins []*Input
	var errs []error
	loc := o.location()
	for _, p := range paths {
		if ctx.Err() != nil {
			break
		}
		in := &Input{Path: p}
		if p == "-" {
			in.stdin = bufio.NewReaderSize(stdin, 1<<20)
			in.ModTime = time.Now()
		} else {
			fi, err := os.Stat(p)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			in.Size, in.ModTime = fi.Size(), fi.ModTime()
			switch {
			case fi.Mode()&os.ModeNamedPipe != 0:
				// A FIFO can be read once: keep the reader for ingest.
				f, err := os.Open(p)
				if err != nil {
					errs = append(errs, err)
					continue
				}
				in.pipe = f
				in.stdin = bufio.NewReaderSize(f, 1<<20)
			case !fi.Mode().IsRegular():
				errs = append(errs, fmt.Errorf("%s: not a regular file (%s), skipped", p, fi.Mode().Type()))
				continue
			}
		}
		lines, err := headLines(in)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", p, err))
			continue
		}
		if len(lines) == 0 {
			errs = append(errs, &SkipError{p, fmt.Sprintf("%s: empty file, skipped", p), ErrEmpty})
			continue
		}
		in.finger = fingerprint(lines)
		if err := chooseFormat(in, lines, o); err != nil {
			if errors.Is(err, errUnknownFormat) {
				return nil, []error{err}
			}
			errs = append(errs, err)
			continue
		}
		checkFormat(in, lines, o, loc)
		ins = append(ins, in)
	}
	// Rotated files given in any order are read oldest first, so that a
	// message's lines reach the correlator in the order they were written.
	sort.SliceStable(ins, func(i, j int) bool {
		a, b := ins[i], ins[j]
		if a.stdin != nil || b.stdin != nil {
			return false
		}
		return a.First.Before(b.First)
	})
	shareRotated(ins)
	return ins, errs
}

// fingerprint identifies a file's content by its first line. A file that
// starts with a "#" header block (Exchange and IIS logs, whose first line is
// the same in every file) is identified by the whole block and the line
// after it: the block's #Date tells the files apart.
func fingerprint(lines [][]byte) string {
	n := 1
	for n < len(lines) && bytes.HasPrefix(bytes.TrimPrefix(lines[n-1], []byte("\ufeff")), []byte("#")) {
		n++
	}
	sum := sha256.Sum256(bytes.Join(lines[:n], []byte("\n")))
	return hex.EncodeToString(sum[:16])
}

// headLines returns up to sniffLines complete lines from the start of in.
func headLines(in *Input) ([][]byte, error) {
	var head []byte
	if in.stdin != nil {
		b, err := in.stdin.Peek(64 << 10)
		if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
			return nil, err
		}
		head = b
	} else {
		rc, err := OpenInput(in)
		if err != nil {
			return nil, err
		}
		defer rc.Close()
		buf := make([]byte, 64<<10)
		n, err := io.ReadFull(rc, buf)
		if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, err
		}
		head = buf[:n]
		in.readSoFar.Store(0)
	}
	var lines [][]byte
	for len(head) > 0 && len(lines) < sniffLines {
		i := bytes.IndexByte(head, '\n')
		if i < 0 {
			if len(lines) == 0 {
				lines = append(lines, bytes.TrimRight(head, "\r"))
			}
			break
		}
		l := bytes.TrimRight(head[:i], "\r")
		l = bytes.TrimLeft(l, "\x00")
		if len(l) > 0 {
			lines = append(lines, l)
		}
		head = head[i+1:]
	}
	return lines, nil
}

// binary reports whether lines look like binary data rather than text.
func binary(lines [][]byte) bool {
	bad, total := 0, 0
	for _, l := range lines {
		for _, c := range l {
			total++
			if c < 0x09 || (c > 0x0d && c < 0x20) || c == 0x7f {
				bad++
			}
		}
	}
	return total > 0 && bad*20 > total
}
