package journal

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/animed/animed/daemon/durable"
)

func TestClaimsSurviveReopen(t *testing.T) {
	dir := t.TempDir()
	j, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	a := Claim{Input: "a.jpg", Result: "a.jpg", Done: "a.jpg", Failed: "a.jpg", Created: time.Now(), Tries: 1}
	b := Claim{Input: "b.png", Result: "b-1.jpg", Done: "b.png", Failed: "b.png", Created: time.Now().Add(time.Second), Tries: 2}
	for _, c := range []Claim{a, b} {
		if err := j.Put(c); err != nil {
			t.Fatal(err)
		}
	}
	if err := j.Remove("a.jpg"); err != nil {
		t.Fatal(err)
	}
	// A crash mid-write leaves a temp file; a hand-edited claim is garbage.
	os.WriteFile(filepath.Join(dir, durable.TempName("x.claim")), []byte("{"), 0o644)
	os.WriteFile(filepath.Join(dir, "junk.claim"), []byte("not json"), 0o644)

	j2, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	all := j2.All()
	if len(all) != 1 || all[0].Input != "b.png" || all[0].Result != "b-1.jpg" || all[0].Tries != 2 {
		t.Fatalf("reopened claims %+v", all)
	}
	if !j2.Reserved("result", "b-1.jpg") || j2.Reserved("result", "b.jpg") || !j2.Reserved("done", "b.png") {
		t.Errorf("Reserved is wrong")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("journal folder holds %d files, want 1", len(entries))
	}
}
