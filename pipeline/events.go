package pipeline

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/relaysleuth/relaysleuth/parsers"
)

// Events reads the logs at paths and hands every event to fn, storing
// nothing: for questions the store cannot answer, such as the lines of a
// probe that the store keeps one of (see probe --verify-log). Inputs that
// cannot be read are reported on log and skipped.
func Events(ctx context.Context, paths []string, o Options, log io.Writer, fn func(parsers.Event) error) error {
	files, _ := Expand(paths)
	ins, _ := Prepare(ctx, files, o, strings.NewReader(""))
	for _, in := range ins {
		rc, err := OpenInput(in)
		if err != nil {
			continue
		}
		p := in.Format.New(ParserOptions{Path: in.Path, ModTime: in.ModTime, Year: o.Year, Location: o.location()})
		_, err = parsers.Scan(ctx, rc, in.Path, parsers.Start{}, p, fn, nil)
		rc.Close()
		if err != nil && ctx.Err() != nil {
			return err
		}
		if err != nil {
			fmt.Fprintf(log, "relaysleuth: %s: %v\n", parsers.Clean(in.Path), parsers.Clean(err.Error()))
		}
	}
	return nil
}
