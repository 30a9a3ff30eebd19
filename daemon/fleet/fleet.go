// Package fleet lets several animed daemons, on one host or on several
// behind one NFS or SMB share, work on one drop folder: each photo is
// converted by exactly one of them, and the photos of a daemon that died
// are taken over by the others once its lease expired.
//
// The daemons share a folder (--fleet, on the share, outside the drop
// folder). In it, a photo's claim is a lock file created with O_EXCL,
// which NFS and SMB honour where flock may not. The lock holds the owner's
// instance id and the claim's result, done and failed names, so that a
// daemon that takes a photo over finishes it under the same names: a
// result already written is not written again. The owner refreshes the
// lock's mtime every Lease/4; a lock whose mtime is older than Lease, as
// measured against the owner's own heartbeat file on the same filesystem
// (so clocks of different hosts need not agree), is taken over. A takeover
// is serialised by a second O_EXCL file and replaces the lock with a
// rename, so the lock's name never goes missing on the way. Result names
// are reserved by O_EXCL files too: two daemons converting a.png and a.jpg
// never both write a.jpg.
//
// Whatever is read from the shared folder is checked like the journal
// (journal.ParseClaim): its names can only name files in animed's folders.
package fleet

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"regexp"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/animed/animed/daemon/journal"
	"github.com/animed/animed/internal/durable"
)

// DefaultLease is Options.Lease's default.
const DefaultLease = time.Minute

// ErrHeld is returned by Acquire for a photo another live daemon holds.
var ErrHeld = errors.New("claimed by another animed instance")

// Options configure a Fleet.
type Options struct {
	Dir      string        // the shared folder
	Instance string        // this daemon's id, unique in the fleet: letters, digits, '.', '_', '-'
	Lease    time.Duration // default DefaultLease
	Logger   *slog.Logger
}

var instanceRE = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// CheckInstance reports whether id is a usable instance id.
func CheckInstance(id string) error {
	if !instanceRE.MatchString(id) || id == "." || id == ".." {
		return fmt.Errorf("instance id %q: use 1-64 letters, digits, '.', '_' or '-'", id)
	}
	return nil
}

// A Fleet is this daemon's membership. It is safe for concurrent use.
type Fleet struct {
	o   Options
	log *slog.Logger
	d   *durable.Dir

	mu   sync.Mutex
	held map[string]bool // inputs whose lock is ours
}

// Open joins the fleet sharing dir (created if missing).
func Open(o Options) (*Fleet, error) {
	if err := CheckInstance(o.Instance); err != nil {
		return nil, err
	}
	if o.Lease <= 0 {
		o.Lease = DefaultLease
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(o.Dir, 0o770); err != nil {
		return nil, fmt.Errorf("fleet folder: %w", err)
	}
	d, err := durable.OpenDir(o.Dir)
	if err != nil {
		return nil, fmt.Errorf("fleet folder: %w", err)
	}
	f := &Fleet{o: o, log: o.Logger, d: d, held: map[string]bool{}}
	if err := f.beat(); err != nil {
		d.Close()
		return nil, err
	}
	return f, nil
}

// Close closes the shared folder. Locks stay: a restart with the same
// instance id resumes them, others take them over after the lease.
func (f *Fleet) Close() error { return f.d.Close() }

// Instance is this daemon's id.
func (f *Fleet) Instance() string { return f.o.Instance }

func hashName(s, suffix string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:16]) + suffix
}

func lockName(input string) string     { return hashName(input, ".lock") }
func takeoverName(input string) string { return hashName(input, ".takeover") }
func resultName(result string) string  { return hashName(result, ".result") }
func (f *Fleet) aliveName() string     { return ".alive-" + f.o.Instance }

// lock is a lock file's content.
type lock struct {
	Instance string          `json:"instance"`
	Claim    json.RawMessage `json:"claim"`
}

// Run refreshes this daemon's heartbeat and its locks every Lease/4 until
// ctx is done.
func (f *Fleet) Run(ctx context.Context) {
	t := time.NewTicker(f.o.Lease / 4)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := f.beat(); err != nil {
				f.log.Warn("fleet: heartbeat", "err", err)
			}
		}
	}
}

// beat touches the heartbeat file and every lock held.
func (f *Fleet) beat() error {
	if err := f.touch(f.aliveName(), true); err != nil {
		return err
	}
	f.mu.Lock()
	inputs := make([]string, 0, len(f.held))
	for in := range f.held {
		inputs = append(inputs, in)
	}
	f.mu.Unlock()
	for _, in := range inputs {
		if err := f.touch(lockName(in), false); err != nil {
			f.log.Warn("fleet: refresh a claim", "photo", in, "err", err)
		}
	}
	return nil
}

// touch sets name's mtime to now (the file server's clock), creating it
// if create is set.
func (f *Fleet) touch(name string, create bool) error {
	if create && !f.d.Exists(name) {
		return f.d.WriteFile(name, 0o660, func(w io.Writer) error { return nil })
	}
	if err := unix.UtimesNanoAt(int(f.d.Fd()), name, nil, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return &os.PathError{Op: "touch", Path: f.d.Join(name), Err: err}
	}
	return nil
}

// age is how long ago name was last touched, by the file server's clock:
// this daemon's heartbeat is touched first and compared with it.
func (f *Fleet) age(name string) (time.Duration, error) {
	if err := f.touch(f.aliveName(), true); err != nil {
		return 0, err
	}
	now, err := f.d.Lstat(f.aliveName())
	if err != nil {
		return 0, err
	}
	st, err := f.d.Lstat(name)
	if err != nil {
		return 0, err
	}
	return time.Duration(now.Mtim.Nano() - st.Mtim.Nano()), nil
}

// A Claim is what Acquire returns: the names recorded by an earlier holder
// (a daemon that died, or this one before a restart), if any.
type Claim struct {
	Names *journal.Claim // nil: a fresh claim; choose names and Record them
}

// Acquire claims input for this daemon. It returns ErrHeld while another
// daemon holds it and its lease runs.
func (f *Fleet) Acquire(input string) (Claim, error) {
	if err := durable.CheckName(input); err != nil {
		return Claim{}, err
	}
	name := lockName(input)
	err := f.create(name, lock{Instance: f.o.Instance})
	if err == nil {
		f.hold(input, true)
		return Claim{}, nil
	}
	if !errors.Is(err, unix.EEXIST) {
		return Claim{}, err
	}
	l, names, rerr := f.read(name)
	if rerr == nil && l.Instance == f.o.Instance {
		f.hold(input, true) // ours, from before a restart
		return Claim{Names: names}, nil
	}
	age, err := f.age(name)
	if errors.Is(err, os.ErrNotExist) {
		return Claim{}, ErrHeld // released meanwhile: the next try creates it
	}
	if err != nil {
		return Claim{}, err
	}
	if age < f.o.Lease {
		return Claim{}, ErrHeld
	}
	return f.takeOver(input, l.Instance, names, age)
}

// takeOver replaces the stale lock of input by one of this daemon's that
// keeps the recorded names.
func (f *Fleet) takeOver(input, from string, names *journal.Claim, age time.Duration) (Claim, error) {
	tk := takeoverName(input)
	if err := f.create(tk, lock{Instance: f.o.Instance}); err != nil {
		if !errors.Is(err, unix.EEXIST) {
			return Claim{}, err
		}
		// Another daemon is taking it over; one that died doing so
		// leaves a takeover file that goes stale too.
		if a, aerr := f.age(tk); aerr == nil && a > 4*f.o.Lease {
			f.d.Remove(tk)
		}
		return Claim{}, ErrHeld
	}
	defer f.d.Remove(tk)
	// Still stale? (Its holder may have refreshed it meanwhile.)
	if a, err := f.age(lockName(input)); err != nil || a < f.o.Lease {
		return Claim{}, ErrHeld
	}
	l := lock{Instance: f.o.Instance}
	if names != nil {
		l.Claim, _ = json.Marshal(names)
	}
	if err := f.replace(lockName(input), l); err != nil {
		return Claim{}, err
	}
	f.hold(input, true)
	f.log.Warn("fleet: taking over a photo whose claim was not refreshed", "photo", input, "from", from, "age", age.Round(time.Second))
	return Claim{Names: names}, nil
}

// Record writes the claim's names into this daemon's lock on input.
func (f *Fleet) Record(c journal.Claim) error {
	data, err := json.Marshal(c)
	if err != nil {
		return err
	}
	return f.replace(lockName(c.Input), lock{Instance: f.o.Instance, Claim: data})
}

// Holds reports whether the lock on input is still this daemon's (it is
// not if another daemon took it over while this one was stalled).
func (f *Fleet) Holds(input string) bool {
	l, _, err := f.read(lockName(input))
	return err == nil && l.Instance == f.o.Instance
}

// Release gives input up: its photo was finished, failed, or is gone.
func (f *Fleet) Release(input string) error {
	f.hold(input, false)
	if !f.Holds(input) {
		return nil
	}
	return f.d.Remove(lockName(input))
}

// Sweep removes stale locks (older than the lease) whose photo is gone
// from the drop folder (exists reports false), with their result's
// reservation: a daemon killed after it finished a photo, before it
// released the lock, leaves them.
func (f *Fleet) Sweep(exists func(input string) bool) error {
	names, err := f.d.Names()
	if err != nil {
		return err
	}
	for _, name := range names {
		if !strings.HasSuffix(name, ".lock") {
			continue
		}
		if a, err := f.age(name); err != nil || a < f.o.Lease {
			continue
		}
		_, c, err := f.read(name)
		if err == nil && c != nil && exists(c.Input) {
			continue
		}
		f.d.Remove(name)
		if c != nil && c.Result != "" {
			f.d.Remove(resultName(c.Result))
		}
	}
	return nil
}

// Reserve claims a result name for this daemon; false if another holds it.
func (f *Fleet) Reserve(result string) bool {
	err := f.create(resultName(result), lock{Instance: f.o.Instance})
	if err == nil {
		return true
	}
	l, _, rerr := f.read(resultName(result))
	return rerr == nil && l.Instance == f.o.Instance
}

// Unreserve releases a result name once the result is in place (its file
// keeps the name taken from then on) or no longer wanted.
func (f *Fleet) Unreserve(result string) error { return f.d.Remove(resultName(result)) }

func (f *Fleet) hold(input string, on bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if on {
		f.held[input] = true
	} else {
		delete(f.held, input)
	}
}

// create makes name with O_EXCL, holding l, durably.
func (f *Fleet) create(name string, l lock) error {
	data, err := json.Marshal(l)
	if err != nil {
		return err
	}
	fd, err := unix.Openat(int(f.d.Fd()), name, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o660)
	if err != nil {
		return &os.PathError{Op: "create", Path: f.d.Join(name), Err: err}
	}
	file := os.NewFile(uintptr(fd), name)
	_, err = file.Write(data)
	if err == nil {
		err = file.Sync()
	}
	if cerr := file.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		f.d.Remove(name)
		return err
	}
	return f.d.Sync()
}

// replace writes l over name atomically (temp file and rename).
func (f *Fleet) replace(name string, l lock) error {
	data, err := json.Marshal(l)
	if err != nil {
		return err
	}
	return f.d.WriteFile(name, 0o660, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// read reads and checks a lock file; names is its claim, if it has one
// that passes journal.ParseClaim.
func (f *Fleet) read(name string) (lock, *journal.Claim, error) {
	data, err := f.d.ReadFile(name, 64<<10)
	if err != nil {
		return lock{}, nil, err
	}
	var l lock
	if err := json.Unmarshal(data, &l); err != nil {
		return lock{}, nil, fmt.Errorf("fleet: %s: %w", name, err)
	}
	if CheckInstance(l.Instance) != nil {
		return lock{}, nil, fmt.Errorf("fleet: %s: bad instance %q", name, l.Instance)
	}
	if len(l.Claim) == 0 || strings.TrimSpace(string(l.Claim)) == "null" {
		return l, nil, nil
	}
	c, err := journal.ParseClaim(l.Claim)
	if err != nil {
		f.log.Warn("fleet: ignoring the names in a claim", "file", f.d.Join(name), "err", err)
		return l, nil, nil
	}
	return l, &c, nil
}
