package pipeline

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/relaysleuth/relaysleuth/parsers"
	"github.com/relaysleuth/relaysleuth/schema"
)

// headFingerprint identifies a file by its first lines as ingest does: the
// first line, or a "#" header block and the line after it.
func headFingerprint(lines [][]byte) string {
	n := 1
	for n < len(lines) && isHeader(lines[n-1]) {
		n++
	}
	sum := sha256.Sum256(bytes.Join(lines[:n], []byte("\n")))
	return hex.EncodeToString(sum[:16])
}

func isHeader(line []byte) bool {
	return bytes.HasPrefix(bytes.TrimPrefix(line, []byte("\ufeff")), []byte("#"))
}

// readLines calls fn with every line of r, r being at byte offset start,
// with the line's offsets; a line is passed without its line end. A final
// line without a newline is passed too. A line over parsers.MaxLineBytes is
// cut to MaxLineBytes+1 bytes (and found malformed).
func readLines(r io.Reader, start int64, fn func(line []byte, start, end int64) error) error {
	br := bufio.NewReaderSize(r, 64<<10)
	var long []byte
	off := start
	lineStart := start
	for {
		chunk, err := br.ReadSlice('\n')
		off += int64(len(chunk))
		if errors.Is(err, bufio.ErrBufferFull) {
			if len(long) <= parsers.MaxLineBytes {
				long = append(long, chunk...)
			}
			continue
		}
		line := chunk
		if len(long) > 0 {
			if len(long) <= parsers.MaxLineBytes {
				long = append(long, chunk...)
			}
			line = long
		}
		if len(line) > 0 {
			line = bytes.TrimSuffix(line, []byte{'\n'})
			if len(line) > parsers.MaxLineBytes+1 {
				line = line[:parsers.MaxLineBytes+1]
			}
			if ferr := fn(line, lineStart, off); ferr != nil {
				return ferr
			}
		}
		long, lineStart = long[:0], off
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// trimLineEnd drops a CR and the NUL bytes a crashed syslog daemon leaves at
// the start of a line, as parsers.Scan does.
func trimLineEnd(line []byte) []byte {
	line = bytes.TrimSuffix(line, []byte{'\r'})
	return line[len(line)-len(bytes.TrimLeft(line, "\x00")):]
}

// findRotated returns the file beside path (path.1, path-20240101, ...;
// not a compressed one) that has inode ino or, failing that, whose first
// line has fingerprint fp; or "".
func findRotated(path string, dev, ino uint64, fp string) string {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return ""
	}
	var byPrint string
	for _, e := range entries {
		n := e.Name()
		if n == base || !strings.HasPrefix(n, base) || !e.Type().IsRegular() {
			continue
		}
		switch filepath.Ext(n) {
		case ".gz", ".bz2", ".xz", ".zst", ".lz4":
			continue
		}
		p := filepath.Join(dir, n)
		fi, err := os.Stat(p)
		if err != nil {
			continue
		}
		d, i := fileID(fi)
		if fp == "" {
			if d == dev && i == ino {
				return p
			}
			continue
		}
		if _, got, err := headPrint(p); err != nil || got != fp {
			continue
		}
		if d == dev && i == ino {
			return p
		}
		if byPrint == "" {
			byPrint = p // a copytruncate copy: a new inode, the same lines
		}
	}
	return byPrint
}

// headPrint returns the first complete lines of the file at path (up to
// sniffLines) and the fingerprint ingest gives the file; "" while the file
// has no complete line, or only a "#" header.
func headPrint(path string) (head [][]byte, fp string, err error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, "", err
	}
	defer fh.Close()
	buf := make([]byte, 64<<10)
	n, err := io.ReadFull(fh, buf)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
		return nil, "", err
	}
	rest := buf[:n]
	for len(head) < sniffLines {
		i := bytes.IndexByte(rest, '\n')
		if i < 0 {
			break
		}
		if l := trimLineEnd(rest[:i]); len(l) > 0 {
			head = append(head, l)
		}
		rest = rest[i+1:]
	}
	for _, l := range head {
		if !isHeader(l) {
			return head, headFingerprint(head), nil
		}
	}
	return head, "", nil
}

// endOfLastLine returns the byte after the last complete line of the file
// at path and the number of lines up to there.
func endOfLastLine(path string) (offset, lines int64, err error) {
	fh, err := os.Open(path)
	if err != nil {
		return 0, 0, err
	}
	defer fh.Close()
	buf := make([]byte, 256<<10)
	var pos int64
	for {
		n, err := fh.Read(buf)
		for i := 0; i < n; {
			j := bytes.IndexByte(buf[i:n], '\n')
			if j < 0 {
				break
			}
			lines++
			offset = pos + int64(i+j+1)
			i += j + 1
		}
		pos += int64(n)
		if errors.Is(err, io.EOF) {
			return offset, lines, nil
		}
		if err != nil {
			return 0, 0, err
		}
	}
}

// fileID returns the device and inode of fi.
func fileID(fi os.FileInfo) (dev, ino uint64) {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Dev), st.Ino
	}
	return 0, 0
}

func sameFile(fi os.FileInfo, dev, ino uint64) bool {
	d, i := fileID(fi)
	return d == dev && i == ino
}

// relocate finds, by their first lines, the files that hold the sources
// stored under path's rotation family now (path, path.1, path.2.gz,
// path-20261206, ...), and renames the ones logrotate moved, in the store
// (every stored "file:line" reference) and in the correlator's memory:
// after mail.log became mail.log.1 and mail.log.1 became mail.log.2.gz,
// a reference still leads to its line. The caller has committed and
// settled what it read, and feeds no line of the file that took path's
// name before this returns.
func (t *tailer) relocate(ctx context.Context, path string) error {
	moves, err := relocateFamily(ctx, t.sctx, t.store, path, func(p string) bool {
		// Another followed file of the family (mail.log.err beside
		// mail.log) moves when its own follower sees the rotation, after
		// storing what it read of the old file.
		return p != path && t.following(p)
	})
	if err != nil {
		return err
	}
	t.corr.RenameFiles(renames(moves))
	for _, m := range moves {
		fmt.Fprintf(t.stderr, "%s: now %s: its stored lines point there\n", m.From, m.To)
	}
	return nil
}

// relocateFamily is relocate for any reader of the store: it moves the
// sources of path's rotation family whose file was renamed, except those
// whose stored path keep says to leave, and returns the moves. The store
// is written with sctx.
func relocateFamily(ctx, sctx context.Context, store *schema.Store, path string, keep func(string) bool) ([]schema.Relocation, error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	srcs, err := store.SourcesUnder(sctx, path)
	if err != nil {
		return nil, StoreError{err}
	}
	if len(srcs) == 0 {
		return nil, nil
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil // the directory is gone: nothing can be found again
	}
	printOf := map[string]string{} // file → fingerprint
	byPrint := map[string]string{} // fingerprint → file
	for _, e := range entries {
		n := e.Name()
		if !strings.HasPrefix(n, base) || !e.Type().IsRegular() || ctx.Err() != nil {
			continue
		}
		p := filepath.Join(dir, n)
		lines, err := headLines(&Input{Path: p})
		if err != nil || len(lines) == 0 {
			continue
		}
		fp := fingerprint(lines)
		printOf[p] = fp
		// A plain copy beats a compressed one of the same lines (a
		// copytruncate copy not yet compressed, or delaycompress).
		if q, ok := byPrint[fp]; !ok || compressedName(q) && !compressedName(p) {
			byPrint[fp] = p
		}
	}
	// A reference names a file, not a source: when another source stored
	// under the same name is still in that file (a database written
	// before relocation existed, with the new mail.log stored before the
	// old one was moved), the references cannot be told apart, and moving
	// them would break that source's right ones to mend the others.
	present := map[string]bool{}
	for _, s := range srcs {
		if printOf[s.Path] == s.Fingerprint {
			present[s.Path] = true
		}
	}
	var moves []schema.Relocation
	for _, s := range srcs {
		if printOf[s.Path] == s.Fingerprint || present[s.Path] {
			continue // still where the store says, or ambiguous
		}
		to, ok := byPrint[s.Fingerprint]
		if !ok || to == s.Path || keep != nil && keep(s.Path) {
			continue // deleted by logrotate's rotate count: nothing to lead to
		}
		moves = append(moves, schema.Relocation{SourceID: s.ID, From: s.Path, To: to})
	}
	if err := store.Relocate(sctx, moves); err != nil {
		return nil, StoreError{err}
	}
	return moves, nil
}

// renames maps the old names of moves to their new ones.
func renames(moves []schema.Relocation) map[string]string {
	m := make(map[string]string, len(moves))
	for _, x := range moves {
		m[x.From] = x.To
	}
	return m
}

// following reports whether path is one of the files followed.
func (t *tailer) following(path string) bool {
	for _, f := range t.files {
		if f.path == path {
			return true
		}
	}
	return false
}

// compressedName reports whether a rotated file's name says it is
// compressed.
func compressedName(p string) bool {
	switch filepath.Ext(p) {
	case ".gz", ".bz2", ".xz", ".zst", ".lz4":
		return true
	}
	return false
}
