package journal

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/animed/animed/internal/durable"
)

func TestClaimsSurviveReopen(t *testing.T) {
	dir := t.TempDir()
	j, err := Open(dir, nil)
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

	j2, err := Open(dir, nil)
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
	if len(entries) != 2 || entries[1].Name() != "junk.claim"+RefusedSuffix {
		t.Errorf("journal folder holds %v, want the claim and junk.claim set aside", entries)
	}
}

// TestForgedClaimsRefused plants claims an uploader could have written
// under the old default (DROP/.animed): names with ../, absolute paths, a
// symbolic link, a claim under another claim's file name. None is loaded.
func TestForgedClaimsRefused(t *testing.T) {
	dir := t.TempDir()
	plant := func(input string, c map[string]any) string {
		data, _ := json.Marshal(c)
		name := fileName(input)
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
		return name
	}
	good := map[string]any{"input": "a.jpg", "result": "a.jpg", "done": "a.jpg", "failed": "a.jpg", "tries": 1}
	with := func(k string, v any) map[string]any {
		c := map[string]any{}
		for k, v := range good {
			c[k] = v
		}
		c[k] = v
		return c
	}
	var planted []string
	for i, c := range []map[string]any{
		with("result", "../../etc/cron.d/x"),
		with("done", "/etc/shadow"),
		with("failed", ".."),
		with("input", "../outside.jpg"),
		with("result", "a\x00b"),
		with("result", durable.TempName("a.jpg")),
		with("tries", -5),
		with("extra", "field"),
	} {
		in, _ := c["input"].(string)
		if i > 0 && in == "a.jpg" {
			in = fmt.Sprintf("p%d.jpg", i) // one file each
			c["input"] = in
		}
		planted = append(planted, plant(in, c))
	}
	// A good claim stored under another input's file name.
	data, _ := json.Marshal(good)
	os.WriteFile(filepath.Join(dir, fileName("b.jpg")), data, 0o600)
	// A symbolic link to a claim elsewhere.
	other := filepath.Join(t.TempDir(), "x.claim")
	os.WriteFile(other, data, 0o600)
	os.Symlink(other, filepath.Join(dir, "link.claim"))

	var log bytes.Buffer
	j, err := Open(dir, slog.New(slog.NewTextHandler(&log, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if all := j.All(); len(all) != 0 {
		t.Fatalf("forged claims loaded: %+v", all)
	}
	if n := strings.Count(log.String(), "refusing a claim file"); n != len(planted)+2 {
		t.Errorf("logged %d refusals, want %d:\n%s", n, len(planted)+2, log.String())
	}
	for _, name := range planted {
		if _, err := os.Lstat(filepath.Join(dir, name+RefusedSuffix)); err != nil {
			t.Errorf("%s not set aside: %v", name, err)
		}
	}
	// Put refuses such names too.
	if err := j.Put(Claim{Input: "a.jpg", Result: "../x", Done: "a", Failed: "a"}); !errors.Is(err, ErrForged) {
		t.Errorf("Put with ../ = %v", err)
	}
}

// TestStateFolderMustBePrivate: a state folder others can write is made
// 0700; claims owned by someone else are refused.
func TestStateFolderMustBePrivate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	os.Mkdir(dir, 0o777)
	os.Chmod(dir, 0o2770)
	j, err := Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	j.Close()
	if st, _ := os.Stat(dir); st.Mode().Perm() != 0o700 || st.Mode()&os.ModeSetgid != 0 && st.Mode().Perm()&0o070 != 0 {
		t.Errorf("state folder mode %v, want 0700", st.Mode())
	}
	if os.Geteuid() != 0 {
		return
	}
	data, _ := json.Marshal(Claim{Input: "a.jpg", Result: "a.jpg", Done: "a.jpg", Failed: "a.jpg"})
	p := filepath.Join(dir, fileName("a.jpg"))
	os.WriteFile(p, data, 0o600)
	os.Chown(p, 65534, 65534)
	j, err = Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(j.All()) != 0 {
		t.Error("a claim owned by another user was loaded")
	}
}

// FuzzParseClaim: whatever a claim file holds, an accepted claim names
// only plain base names.
func FuzzParseClaim(f *testing.F) {
	for _, seed := range []string{
		`{"input":"a.jpg","result":"a.jpg","done":"a.jpg","failed":"a.jpg","created":"2026-01-02T03:04:05Z","tries":1}`,
		`{"input":"a.jpg","result":"../a.jpg","done":"a.jpg","failed":"a.jpg"}`,
		`{"input":"a.jpg","result":"a.jpg","done":"/etc/passwd","failed":"a.jpg"}`,
		`{"input":"..","result":".","done":"","failed":"a"}`,
		`{"input":"a","result":"a","done":"a","failed":"a","last_error":"disk full"}{}`,
		`{"input":"a\u0000b","result":"a","done":"a","failed":"a"}`,
		`[]`, `null`, ``, `{"input":1}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseClaim(data)
		if err != nil {
			return
		}
		for _, n := range []string{c.Input, c.Result, c.Done, c.Failed, c.Failed + ErrorSuffix} {
			if n == "" || n == "." || n == ".." || strings.ContainsAny(n, "/\x00") || filepath.Base(n) != n || len(n) > durable.MaxName {
				t.Fatalf("accepted %q from %q", n, data)
			}
		}
	})
}
