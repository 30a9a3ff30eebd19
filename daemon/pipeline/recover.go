package pipeline

import (
	"errors"
	"os"

	"github.com/animed/animed/internal/durable"
)

// Recover settles what a crash left behind, before the first photo: it
// removes temporary files in the output, done and failed folders and drops
// claims whose input is no longer in the drop folder (their photo was
// finished, or removed by someone). Claims whose input is still there stay:
// Process redoes them under the recorded names.
func (p *Pipeline) Recover() error {
	// In a fleet, the other daemons' temporary files are theirs: a redo
	// replaces its own leftover (durable.Dir.WriteFile) instead.
	for _, d := range []*durable.Dir{p.f.out, p.f.done, p.f.failed} {
		if p.o.Fleet != nil {
			break
		}
		removed, err := d.RemoveTemps()
		if err != nil {
			return err
		}
		for _, n := range removed {
			p.log.Info("removed a temporary file left by a crash", "file", d.Join(n))
		}
	}
	if p.o.Fleet != nil {
		if err := p.o.Fleet.Sweep(p.f.watch.Exists); err != nil {
			p.log.Warn("fleet: sweep stale claims", "err", err)
		}
	}
	for _, c := range p.j.All() {
		_, err := p.f.watch.Lstat(c.Input)
		switch {
		case err == nil:
			p.log.Info("photo interrupted by a restart; it will be redone", "photo", c.Input, "result", c.Result)
		case errors.Is(err, os.ErrNotExist):
			p.settled(c)
		default:
			return err
		}
	}
	return nil
}
