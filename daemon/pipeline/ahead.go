package pipeline

import (
	"context"
	"sync"
	"time"

	"github.com/animed/animed/daemon/journal"
	"github.com/animed/animed/internal/imageio"
)

// Decoding ahead (issue 15): while Process runs photo N through the model,
// Run reads and decodes photo N+1, so the model's turn starts on pixels.
// It is a bounded pipeline of two: one photo decoded ahead (its pixels at
// --max-side, a few MB; its file bytes are dropped once decoded) and one in
// Process. Full-size decoding, the step that needs imageio's decode memory
// budget, runs one photo at a time (decodeGate), ahead or not.
//
// Exactly-once and crash safety are Process's as before: decoding ahead
// changes nothing on disk and claims nothing. Process uses the pixels only
// when the file it opens has the fingerprint (device, inode, size, mtime)
// of the one decoded ahead; otherwise it reads and decodes it again. Only
// names the watcher reports settled are decoded ahead, as before.

// decoded is a photo decoded ahead of its turn.
type decoded struct {
	name  string
	fp    journal.Fingerprint
	photo *imageio.Photo
	took  time.Duration
}

// ahead holds the photo decoded ahead that Run hands to Process.
type ahead struct {
	mu sync.Mutex
	d  *decoded
}

func (a *ahead) put(d *decoded) {
	a.mu.Lock()
	a.d = d
	a.mu.Unlock()
}

// take returns the photo decoded ahead for name if it was decoded from
// the file with fingerprint fp, and forgets it either way.
func (a *ahead) take(name string, fp journal.Fingerprint) *decoded {
	a.mu.Lock()
	defer a.mu.Unlock()
	d := a.d
	if d == nil || d.name != name {
		return nil
	}
	a.d = nil
	if d.photo == nil || d.fp != fp {
		return nil
	}
	return d
}

// decodeAhead reads and decodes the photo name, or returns nil when it
// cannot (Process then meets the same problem and deals with it).
func (p *Pipeline) decodeAhead(name string) *decoded {
	f, fp, err := p.open(name)
	if err != nil {
		return nil
	}
	defer f.Close()
	data, err := p.read(f, fp)
	if err != nil {
		return nil
	}
	photo, took, err := p.decode(data)
	if err != nil {
		return nil
	}
	return &decoded{name: name, fp: fp, photo: photo, took: took}
}

// decode decodes a photo at --max-side, one full-size decode at a time.
func (p *Pipeline) decode(data []byte) (*imageio.Photo, time.Duration, error) {
	p.decodeGate.Lock()
	defer p.decodeGate.Unlock()
	t := time.Now()
	photo, err := imageio.Decode(data, imageio.DecodeOptions{MaxPixels: p.o.MaxPixels, MaxSide: p.o.MaxSide})
	return photo, time.Since(t), err
}

// decodeAheadLoop takes each settled name from ready, decodes it ahead and
// hands it on to next (with a nil photo when it could not be decoded),
// where Run takes it once the photo before is done.
func (p *Pipeline) decodeAheadLoop(ctx context.Context, ready <-chan string, next chan<- *decoded) {
	for {
		select {
		case <-ctx.Done():
			return
		case name := <-ready:
			d := p.decodeAhead(name)
			if d == nil {
				d = &decoded{name: name}
			}
			select {
			case next <- d:
			case <-ctx.Done():
				return
			}
		}
	}
}
