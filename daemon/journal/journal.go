// Package journal records which photo is being processed and under which
// names its result and its original will be stored, so that a restart after
// a crash (kill -9, power cut) finishes or redoes each photo exactly once.
//
// A claim is written durably before the first byte of a result is; it is
// removed after the original has been moved away. A redo after a crash uses
// the names in the claim, so it overwrites its own temporary file instead of
// taking the next free name.
//
// The journal decides what the daemon renames and replaces, so nothing read
// back is trusted: the folder must belong to the daemon's user, claim files
// are opened with O_NOFOLLOW relative to the folder's descriptor, and a
// claim whose names are not plain base names (see ParseClaim) is refused,
// logged and set aside as NAME.refused, never acted on.
package journal

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/animed/animed/internal/durable"
)

// maxClaimBytes bounds a claim file: ours are a few hundred bytes.
const maxClaimBytes = 64 << 10

// Suffix ends the name of every claim file; RefusedSuffix is appended to a
// claim file that was refused.
const (
	Suffix        = ".claim"
	RefusedSuffix = ".refused"
)

// A Claim says that Input (a name in the drop folder) is being processed
// and where its result and original go.
type Claim struct {
	Input   string    `json:"input"`   // name in the drop folder
	Result  string    `json:"result"`  // name in the output folder
	Done    string    `json:"done"`    // name in the done folder
	Failed  string    `json:"failed"`  // name in the failed folder (plus .error.txt)
	Created time.Time `json:"created"` // when the claim was first written
	Tries   int       `json:"tries"`   // how many times processing started
	// LastError is the system error (full disk, permissions) that
	// stopped the last try, if any.
	LastError string `json:"last_error,omitempty"`
	// Source fingerprints the input when it was claimed: another file
	// under the same name (a camera's IMG_0001.JPG again) is a new photo.
	Source Fingerprint `json:"source"`
}

// A Fingerprint tells one version of a file from another: device, inode,
// size and modification time. The zero value is unknown (claims written
// by older versions) and matches any file.
type Fingerprint struct {
	Dev     uint64 `json:"dev"`
	Ino     uint64 `json:"ino"`
	Size    int64  `json:"size"`
	MtimeNs int64  `json:"mtime_ns"`
}

// FingerprintOf fingerprints what stat or fstat returned.
func FingerprintOf(st *unix.Stat_t) Fingerprint {
	return Fingerprint{Dev: st.Dev, Ino: st.Ino, Size: st.Size, MtimeNs: st.Mtim.Nano()}
}

// Mtime is the modification time.
func (f Fingerprint) Mtime() time.Time { return time.Unix(0, f.MtimeNs) }

// SameVersion is Matches without the device number, which differs
// between hosts that see one file through a network share.
func (f Fingerprint) SameVersion(g Fingerprint) bool {
	f.Dev, g.Dev = 0, 0
	return f.Matches(g)
}

// Matches reports whether f and g are the same version of a file; an
// unknown fingerprint matches any.
func (f Fingerprint) Matches(g Fingerprint) bool {
	return f == Fingerprint{} || g == Fingerprint{} || f == g
}

// ErrForged is wrapped by ParseClaim's errors: the claim was not written
// by animed.
var ErrForged = errors.New("not a claim animed wrote")

// ParseClaim decodes a claim file and checks every name in it: each must be
// a plain base name (no separators, no "..", no NUL, not empty), not one of
// the daemon's temporary names, and short enough for the names derived
// from it. A claim that fails came from someone else and must not be acted
// on.
func ParseClaim(data []byte) (Claim, error) {
	var c Claim
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return Claim{}, fmt.Errorf("%w: %v", ErrForged, err)
	}
	if dec.More() {
		return Claim{}, fmt.Errorf("%w: data after the claim", ErrForged)
	}
	if err := c.check(); err != nil {
		return Claim{}, err
	}
	return c, nil
}

// check validates the names and counters of a claim.
func (c Claim) check() error {
	for _, f := range []struct{ field, name string }{
		{"input", c.Input}, {"result", c.Result}, {"done", c.Done}, {"failed", c.Failed},
	} {
		if err := durable.CheckName(f.name); err != nil {
			return fmt.Errorf("%w: %s %v", ErrForged, f.field, err)
		}
		if strings.HasPrefix(f.name, durable.TempPrefix) {
			return fmt.Errorf("%w: %s %q is a temporary name", ErrForged, f.field, f.name)
		}
	}
	if len(c.Failed)+len(ErrorSuffix) > durable.MaxName {
		return fmt.Errorf("%w: failed name %q too long", ErrForged, c.Failed)
	}
	if c.Source.Size < 0 {
		return fmt.Errorf("%w: size %d", ErrForged, c.Source.Size)
	}
	if c.Tries < 0 || c.Tries > 1000 {
		return fmt.Errorf("%w: tries %d", ErrForged, c.Tries)
	}
	return nil
}

// ErrorSuffix is appended to a failed photo's name for the file that says
// why it failed.
const ErrorSuffix = ".error.txt"

// Journal is the set of open claims, kept as one small file each under a
// folder. It is safe for concurrent use.
type Journal struct {
	dir    *durable.Dir
	log    *slog.Logger
	mu     sync.Mutex
	claims map[string]*Claim // by Input
}

// Open loads the journal in dir (created, mode 0700, if missing) and
// removes temporary files a crash left there. The folder must belong to
// the daemon's user; a folder others may write is made private (0700).
// Refused claims are logged to log.
func Open(dir string, log *slog.Logger) (*Journal, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	d, err := openPrivate(dir, log)
	if err != nil {
		return nil, fmt.Errorf("open journal: %w", err)
	}
	j := &Journal{dir: d, log: log, claims: map[string]*Claim{}}
	if err := j.load(); err != nil {
		d.Close()
		return nil, fmt.Errorf("open journal: %w", err)
	}
	return j, nil
}

// openPrivate opens (making it if missing) a folder only this user may
// write.
func openPrivate(dir string, log *slog.Logger) (*durable.Dir, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	d, err := durable.OpenDir(dir)
	if err != nil {
		return nil, err
	}
	st, err := d.Stat()
	if err != nil {
		d.Close()
		return nil, err
	}
	if int(st.Uid) != os.Geteuid() {
		d.Close()
		return nil, fmt.Errorf("state folder %s belongs to uid %d, not to this user (uid %d): refusing to trust it", dir, st.Uid, os.Geteuid())
	}
	if st.Mode&0o022 != 0 {
		if err := d.Chmod(0o700); err != nil {
			d.Close()
			return nil, fmt.Errorf("state folder %s is writable by others and cannot be made private: %w", dir, err)
		}
		log.Warn("state folder was writable by others; made it private (0700)", "dir", dir, "mode", fmt.Sprintf("%#o", st.Mode&0o7777))
	}
	return d, nil
}

// load reads the claim files.
func (j *Journal) load() error {
	if _, err := j.dir.RemoveTemps(); err != nil {
		return err
	}
	names, err := j.dir.Names()
	if err != nil {
		return err
	}
	sort.Strings(names)
	for _, name := range names {
		if !strings.HasSuffix(name, Suffix) {
			continue
		}
		c, err := j.read(name)
		if err != nil {
			j.refuse(name, err)
			continue
		}
		j.claims[c.Input] = &c
	}
	return nil
}

// read reads and checks one claim file.
func (j *Journal) read(name string) (Claim, error) {
	f, err := j.dir.Open(name)
	if err != nil {
		return Claim{}, fmt.Errorf("%w: %v", ErrForged, err) // a symbolic link: ELOOP
	}
	defer f.Close()
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return Claim{}, err
	}
	switch {
	case st.Mode&unix.S_IFMT != unix.S_IFREG:
		return Claim{}, fmt.Errorf("%w: not a regular file", ErrForged)
	case int(st.Uid) != os.Geteuid():
		return Claim{}, fmt.Errorf("%w: owned by uid %d", ErrForged, st.Uid)
	case st.Size > maxClaimBytes:
		return Claim{}, fmt.Errorf("%w: %d bytes", ErrForged, st.Size)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxClaimBytes))
	if err != nil {
		return Claim{}, err
	}
	c, err := ParseClaim(data)
	if err != nil {
		return Claim{}, err
	}
	if fileName(c.Input) != name {
		return Claim{}, fmt.Errorf("%w: file name %s does not match input %q", ErrForged, name, c.Input)
	}
	return c, nil
}

// refuse logs a claim file that is not acted on and sets it aside.
func (j *Journal) refuse(name string, why error) {
	j.log.Warn("journal: refusing a claim file; it is not acted on", "file", j.dir.Join(name), "reason", why)
	if err := durable.Move(j.dir, name, j.dir, name+RefusedSuffix); err != nil {
		if err := j.dir.Remove(name); err != nil {
			j.log.Warn("journal: cannot set a refused claim aside", "file", j.dir.Join(name), "err", err)
		}
	}
}

// Check makes sure the journal's folder is still there: one that was
// removed or replaced while running is made again (private) and the open
// claims are written into it again.
func (j *Journal) Check() error {
	if err := j.dir.Check(); err == nil {
		return nil
	}
	d, err := openPrivate(j.dir.Path(), j.log)
	if err != nil {
		return fmt.Errorf("journal: the folder was removed or replaced and cannot be made again: %w", err)
	}
	j.log.Warn("journal: the folder was removed or replaced while running; made it again", "dir", d.Path())
	j.mu.Lock()
	old := j.dir
	j.dir = d
	claims := make([]Claim, 0, len(j.claims))
	for _, c := range j.claims {
		claims = append(claims, *c)
	}
	j.mu.Unlock()
	old.Close()
	for _, c := range claims {
		if err := j.Put(c); err != nil {
			return err
		}
	}
	return nil
}

// Dir is the folder holding the journal.
func (j *Journal) Dir() string { return j.dir.Path() }

// Close closes the journal's folder.
func (j *Journal) Close() error { return j.dir.Close() }

func fileName(input string) string {
	h := sha256.Sum256([]byte(input))
	return hex.EncodeToString(h[:16]) + Suffix
}

// Get returns the open claim for an input name.
func (j *Journal) Get(input string) (Claim, bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	c, ok := j.claims[input]
	if !ok {
		return Claim{}, false
	}
	return *c, true
}

// All returns the open claims, oldest first.
func (j *Journal) All() []Claim {
	j.mu.Lock()
	defer j.mu.Unlock()
	out := make([]Claim, 0, len(j.claims))
	for _, c := range j.claims {
		out = append(out, *c)
	}
	sort.Slice(out, func(a, b int) bool { return out[a].Created.Before(out[b].Created) })
	return out
}

// Reserved reports whether an open claim holds name as its result, done or
// failed name (the three live in different folders; kind says which:
// "result", "done" or "failed").
func (j *Journal) Reserved(kind, name string) bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	for _, c := range j.claims {
		switch {
		case kind == "result" && c.Result == name,
			kind == "done" && c.Done == name,
			kind == "failed" && c.Failed == name:
			return true
		}
	}
	return false
}

// Put durably records c (replacing an earlier claim for the same input).
// When Put returns nil the claim survives a crash.
func (j *Journal) Put(c Claim) error {
	if err := c.check(); err != nil {
		return fmt.Errorf("journal: record %q: %w", c.Input, err)
	}
	data, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	j.mu.Lock()
	d := j.dir
	j.mu.Unlock()
	err = d.WriteFile(fileName(c.Input), 0o600, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
	if err != nil {
		return fmt.Errorf("journal: record %s: %w", c.Input, err)
	}
	j.mu.Lock()
	j.claims[c.Input] = &c
	j.mu.Unlock()
	return nil
}

// Remove deletes the claim for input. A claim that reappears after a power
// cut is harmless: its input is gone and Recover-style checks drop it.
func (j *Journal) Remove(input string) error {
	j.mu.Lock()
	delete(j.claims, input)
	d := j.dir
	j.mu.Unlock()
	if err := d.Remove(fileName(input)); err != nil {
		return fmt.Errorf("journal: remove claim for %s: %w", input, err)
	}
	return nil
}
