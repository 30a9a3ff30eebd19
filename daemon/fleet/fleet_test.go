package fleet

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/animed/animed/daemon/journal"
)

func join(t *testing.T, dir, id string) *Fleet {
	t.Helper()
	f, err := Open(Options{Dir: dir, Instance: id, Lease: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// age makes a lock look as if its holder stopped refreshing it d ago.
func age(t *testing.T, dir, input string, d time.Duration) {
	t.Helper()
	old := time.Now().Add(-d)
	if err := os.Chtimes(filepath.Join(dir, lockName(input)), old, old); err != nil {
		t.Fatal(err)
	}
}

func TestClaimsAreExclusive(t *testing.T) {
	dir := t.TempDir()
	a, b := join(t, dir, "a"), join(t, dir, "b")
	if _, err := a.Acquire("p.jpg"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Acquire("p.jpg"); !errors.Is(err, ErrHeld) {
		t.Fatalf("b.Acquire of a's live claim = %v, want ErrHeld", err)
	}
	// a restarts (same instance id): the claim is still its own.
	a2 := join(t, dir, "a")
	if _, err := a2.Acquire("p.jpg"); err != nil {
		t.Fatalf("a after a restart: %v", err)
	}
	if !a.Reserve("p.jpg") || b.Reserve("p.jpg") || !a.Reserve("p.jpg") {
		t.Fatal("result names are not reserved for one daemon")
	}
	if err := a.Release("p.jpg"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Acquire("p.jpg"); err != nil {
		t.Fatalf("b after a released it: %v", err)
	}
}

// TestTakeOverKeepsNames: a daemon that stopped refreshing its claim
// (killed) loses it after the lease, and the taker gets its names, so a
// result it already wrote is not written again under another name.
func TestTakeOverKeepsNames(t *testing.T) {
	dir := t.TempDir()
	dead, live := join(t, dir, "dead"), join(t, dir, "live")
	if _, err := dead.Acquire("p.jpg"); err != nil {
		t.Fatal(err)
	}
	c := journal.Claim{Input: "p.jpg", Result: "p-3.jpg", Done: "p.jpg", Failed: "p.jpg", Tries: 1}
	if err := dead.Record(c); err != nil {
		t.Fatal(err)
	}
	age(t, dir, "p.jpg", 30*time.Second)
	if _, err := live.Acquire("p.jpg"); !errors.Is(err, ErrHeld) {
		t.Fatalf("within the lease: %v, want ErrHeld", err)
	}
	age(t, dir, "p.jpg", 2*time.Minute)
	got, err := live.Acquire("p.jpg")
	if err != nil {
		t.Fatal(err)
	}
	if got.Names == nil || got.Names.Result != "p-3.jpg" {
		t.Fatalf("took over without the recorded names: %+v", got.Names)
	}
	if dead.Holds("p.jpg") || !live.Holds("p.jpg") {
		t.Fatal("the lock did not change hands")
	}
	// The dead daemon comes back: the photo is not its own any more.
	if _, err := dead.Acquire("p.jpg"); !errors.Is(err, ErrHeld) {
		t.Fatalf("the old holder after the takeover: %v, want ErrHeld", err)
	}
}

// TestForgedLockNamesIgnored: a lock file whose names leave the folders
// is not trusted for its names.
func TestForgedLockNamesIgnored(t *testing.T) {
	dir := t.TempDir()
	live := join(t, dir, "live")
	os.WriteFile(filepath.Join(dir, lockName("p.jpg")),
		[]byte(`{"instance":"x","claim":{"input":"p.jpg","result":"../../etc/x","done":"p.jpg","failed":"p.jpg"}}`), 0o660)
	age(t, dir, "p.jpg", time.Hour)
	got, err := live.Acquire("p.jpg")
	if err != nil {
		t.Fatal(err)
	}
	if got.Names != nil {
		t.Fatalf("adopted forged names %+v", got.Names)
	}
}

// TestSweep: a stale lock whose photo is gone (its daemon was killed after
// finishing it) is removed with its reservation; others stay.
func TestSweep(t *testing.T) {
	dir := t.TempDir()
	dead, live := join(t, dir, "dead"), join(t, dir, "live")
	for _, in := range []string{"gone.jpg", "here.jpg", "fresh.jpg"} {
		dead.Acquire(in)
		dead.Reserve(in)
		dead.Record(journal.Claim{Input: in, Result: in, Done: in, Failed: in})
	}
	age(t, dir, "gone.jpg", time.Hour)
	age(t, dir, "here.jpg", time.Hour)
	if err := live.Sweep(func(in string) bool { return in != "gone.jpg" }); err != nil {
		t.Fatal(err)
	}
	for in, want := range map[string]bool{"gone.jpg": false, "here.jpg": true, "fresh.jpg": true} {
		_, err := os.Stat(filepath.Join(dir, lockName(in)))
		if (err == nil) != want {
			t.Errorf("%s: lock exists %v, want %v", in, err == nil, want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, resultName("gone.jpg"))); err == nil {
		t.Error("the swept claim's reservation stays")
	}
}
