package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/animed/animed/daemon/durable"
	"github.com/animed/animed/daemon/journal"
	"github.com/animed/animed/internal/imageio"
)

// Outcome is what Process did with a photo.
type Outcome int

// Outcomes of Process.
const (
	Abandoned Outcome = iota // stopped by ctx or a system error; retried later
	Succeeded                // result written, original in done/
	Failed                   // original in failed/ with NAME.EXT.error.txt
)

// Process takes the photo name (a file in the drop folder) through the
// whole pipeline. It returns Abandoned with an error when ctx was cancelled
// or the output could not be written (the claim stays; a later call redoes
// the photo under the same names).
func (p *Pipeline) Process(ctx context.Context, name string) (Outcome, error) {
	start := time.Now()
	if p.o.Busy != nil {
		p.o.Busy(true)
		defer p.o.Busy(false)
	}
	if name != filepath.Base(name) || name == "." || name == ".." {
		return Abandoned, fmt.Errorf("process %q: not a plain file name", name)
	}
	// claim
	c, err := p.claim(name)
	if err != nil {
		return Abandoned, err
	}
	log := p.log.With("photo", name)
	if c.Tries > p.o.MaxTries {
		why := "it may crash the daemon"
		if c.LastError != "" {
			why = "last error: " + c.LastError
		}
		return p.fail(c, fmt.Errorf("processing was started %d times without finishing (%s)", c.Tries-1, why))
	}

	// A crash after the result was renamed into place but before the
	// original moved: the result is complete, only "done" is left.
	var r *Rendered
	if p.ours(c.Result) {
		log.Info("result already written before a restart; finishing", "result", c.Result)
	} else {
		if exists(filepath.Join(p.o.Out, c.Result)) {
			// Someone else put a file there since the claim: take a new name.
			if c, err = p.rename(c); err != nil {
				return p.abandon(c, err)
			}
		}
		// decode -> model -> encode
		data, err := imageio.ReadFile(filepath.Join(p.o.Watch, name), p.o.MaxBytes)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				p.j.Remove(name)
				return Abandoned, fmt.Errorf("process %s: vanished before it was read", name)
			}
			return p.fail(c, err)
		}
		r, err = Render(ctx, p.s, data, p.o.Format, p.o)
		if err != nil {
			if ctx.Err() != nil {
				return Abandoned, fmt.Errorf("process %s: stopped: %w", name, ctx.Err())
			}
			return p.fail(c, err)
		}
		// write
		t := time.Now()
		err = durable.WriteFile(p.o.Out, c.Result, 0o644, func(w io.Writer) error {
			_, err := w.Write(r.Data)
			return err
		})
		if err != nil {
			return p.abandon(c, fmt.Errorf("process %s: write result: %w", name, err))
		}
		r.Write = time.Since(t)
	}
	// done
	if err := durable.Move(filepath.Join(p.o.Watch, name), filepath.Join(p.o.Done, c.Done)); err != nil {
		return p.abandon(c, fmt.Errorf("process %s: move original to %s: %w", name, p.o.Done, err))
	}
	if err := p.j.Remove(name); err != nil {
		log.Warn("journal", "err", err)
	}
	total := time.Since(start)
	p.m.Processed()
	p.m.Observe("total", total)
	attrs := []any{"result", c.Result, "total_ms", ms(total)}
	if r != nil {
		p.m.Observe("decode", r.Decode)
		p.m.Observe("infer", r.Infer)
		p.m.Observe("encode", r.Encode)
		p.m.Observe("write", r.Write)
		attrs = append(attrs, "src", fmt.Sprintf("%dx%d", r.SrcW, r.SrcH), "size", fmt.Sprintf("%dx%d", r.Width, r.Height),
			"bytes", len(r.Data), "decode_ms", ms(r.Decode), "infer_ms", ms(r.Infer),
			"encode_ms", ms(r.Encode), "write_ms", ms(r.Write))
	}
	log.Info("photo done", attrs...)
	return Succeeded, nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// claim returns the photo's claim, recording a new one (with fresh names)
// or counting another try of an existing one, durably, before anything is
// written.
func (p *Pipeline) claim(name string) (journal.Claim, error) {
	c, ok := p.j.Get(name)
	if !ok {
		ext := filepath.Ext(name)
		base := strings.TrimSuffix(name, ext)
		if base == "" {
			base = name
		}
		var err error
		c = journal.Claim{Input: name, Created: time.Now().UTC()}
		if c.Result, err = durable.FreeName(p.o.Out, p.resultBase(name), p.o.Format.Ext(), func(n string) bool {
			return p.j.Reserved("result", n) || exists(filepath.Join(p.o.Out, durable.TempName(n)))
		}); err != nil {
			return c, err
		}
		if c.Done, err = durable.FreeName(p.o.Done, base, ext, func(n string) bool { return p.j.Reserved("done", n) }); err != nil {
			return c, err
		}
		if c.Failed, err = durable.FreeName(p.o.Failed, base, ext, func(n string) bool {
			return p.j.Reserved("failed", n) || exists(filepath.Join(p.o.Failed, n+".error.txt"))
		}); err != nil {
			return c, err
		}
	}
	c.Tries++
	if err := p.j.Put(c); err != nil {
		return c, err
	}
	return c, nil
}

// ours reports whether OUT/name is a result written by animed (it carries
// the comment, which sits in the first bytes of a JPEG or PNG).
func (p *Pipeline) ours(name string) bool {
	f, err := os.OpenFile(filepath.Join(p.o.Out, name), os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if err != nil {
		return false
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		return false
	}
	head := make([]byte, 4096)
	n, _ := io.ReadFull(f, head)
	return strings.HasPrefix(imageio.Comment(head[:n]), "generated by animed")
}

// rename gives a claim a new result name, durably.
func (p *Pipeline) rename(c journal.Claim) (journal.Claim, error) {
	name, err := durable.FreeName(p.o.Out, p.resultBase(c.Input), p.o.Format.Ext(), func(n string) bool {
		return p.j.Reserved("result", n)
	})
	if err != nil {
		return c, err
	}
	c.Result = name
	return c, p.j.Put(c)
}

// resultBase is the result's name for input, before the format's
// extension and any -N suffix.
func (p *Pipeline) resultBase(input string) string {
	if base := strings.TrimSuffix(input, filepath.Ext(input)); base != "" && !p.o.KeepExt {
		return base
	}
	return input
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

// abandon leaves the photo for a later try after a system error (a full
// disk, a permission problem), noting the error in its claim so that the
// reason is known if it ends in failed/ after MaxTries.
func (p *Pipeline) abandon(c journal.Claim, err error) (Outcome, error) {
	c.LastError = err.Error()
	if perr := p.j.Put(c); perr != nil {
		p.log.Warn("journal", "err", perr)
	}
	return Abandoned, err
}

// fail moves the input to the failed folder next to NAME.EXT.error.txt
// saying why.
func (p *Pipeline) fail(c journal.Claim, reason error) (Outcome, error) {
	msg := fmt.Sprintf("animed could not process %s: %v\n", c.Input, reason)
	err := durable.WriteFile(p.o.Failed, c.Failed+".error.txt", 0o644, func(w io.Writer) error {
		_, err := io.WriteString(w, msg)
		return err
	})
	if err != nil {
		return Abandoned, fmt.Errorf("process %s: write reason: %w", c.Input, err)
	}
	if err := durable.Move(filepath.Join(p.o.Watch, c.Input), filepath.Join(p.o.Failed, c.Failed)); err != nil {
		return Abandoned, fmt.Errorf("process %s: move to %s: %w", c.Input, p.o.Failed, err)
	}
	os.Remove(filepath.Join(p.o.Out, durable.TempName(c.Result)))
	if err := p.j.Remove(c.Input); err != nil {
		p.log.Warn("journal", "err", err)
	}
	p.m.Failed()
	p.log.Warn("photo failed", "photo", c.Input, "moved_to", filepath.Join(p.o.Failed, c.Failed), "reason", reason)
	return Failed, nil
}
