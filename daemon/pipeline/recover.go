package pipeline

import (
	"errors"
	"os"
	"path/filepath"

	"github.com/animed/animed/daemon/durable"
)

// Recover settles what a crash left behind, before the first photo: it
// removes temporary files in the output, done and failed folders and drops
// claims whose input is no longer in the drop folder (their photo was
// finished, or removed by someone). Claims whose input is still there stay:
// Process redoes them under the recorded names.
func (p *Pipeline) Recover() error {
	for _, dir := range []string{p.o.Out, p.o.Done, p.o.Failed} {
		removed, err := durable.RemoveTemps(dir)
		if err != nil {
			return err
		}
		for _, n := range removed {
			p.log.Info("removed a temporary file left by a crash", "file", filepath.Join(dir, n))
		}
	}
	for _, c := range p.j.All() {
		_, err := os.Lstat(filepath.Join(p.o.Watch, c.Input))
		switch {
		case err == nil:
			p.log.Info("photo interrupted by a restart; it will be redone", "photo", c.Input, "result", c.Result)
		case errors.Is(err, os.ErrNotExist):
			if err := p.j.Remove(c.Input); err != nil {
				return err
			}
		default:
			return err
		}
	}
	return nil
}
