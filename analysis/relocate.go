package analysis

import "github.com/relaysleuth/relaysleuth/parsers"

// RenameFiles gives the lines the correlator holds in memory their file's
// new name: moves maps a file's old name to its new one, all at once (a
// rotation renames mail.log.1 to mail.log.2.gz and mail.log to mail.log.1
// in one go). A follower calls it when it sees a rotation, before any line
// of the file that now has the old name is fed, so that the evidence of
// messages still in flight names the file that holds their lines.
func (c *Correlator) RenameFiles(moves map[string]string) {
	if len(moves) == 0 {
		return
	}
	rename := func(ps []parsers.Pos) {
		for i := range ps {
			if to, ok := moves[ps[i].File]; ok {
				ps[i].File = to
			}
		}
	}
	seen := map[*Message]bool{}
	var visit func(m *Message)
	visit = func(m *Message) {
		for m != nil && !seen[m] {
			seen[m] = true
			rename(m.Evidence)
			for _, r := range m.rcpts {
				rename(r.Pos)
			}
			m = m.parent
		}
	}
	for _, m := range c.msgs {
		visit(m)
	}
	for _, p := range c.pending {
		visit(p.parent)
	}
	for _, r := range c.changed {
		rename(r.Pos)
	}
	for _, m := range c.msgDirty {
		visit(m)
	}
}
