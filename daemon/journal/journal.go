// Package journal records which photo is being processed and under which
// names its result and its original will be stored, so that a restart after
// a crash (kill -9, power cut) finishes or redoes each photo exactly once.
//
// A claim is written durably before the first byte of a result is; it is
// removed after the original has been moved away. A redo after a crash uses
// the names in the claim, so it overwrites its own temporary file instead of
// taking the next free name.
package journal

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/animed/animed/daemon/durable"
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
}

// Journal is the set of open claims, kept as one small file each under a
// folder. It is safe for concurrent use.
type Journal struct {
	dir    string
	mu     sync.Mutex
	claims map[string]*Claim // by Input
}

// Open loads the journal in dir (created if missing) and removes temporary
// files a crash left there.
func Open(dir string) (*Journal, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("open journal: %w", err)
	}
	if _, err := durable.RemoveTemps(dir); err != nil {
		return nil, fmt.Errorf("open journal: %w", err)
	}
	j := &Journal{dir: dir, claims: map[string]*Claim{}}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("open journal: %w", err)
	}
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".claim") {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("open journal: %w", err)
		}
		var c Claim
		if err := json.Unmarshal(data, &c); err != nil || c.Input == "" || c.Result == "" {
			// Claims are written by rename, so this is not a torn write:
			// someone edited the file. Drop it rather than refuse to start.
			os.Remove(filepath.Join(dir, e.Name()))
			continue
		}
		j.claims[c.Input] = &c
	}
	return j, nil
}

// Dir is the folder holding the journal.
func (j *Journal) Dir() string { return j.dir }

func fileName(input string) string {
	h := sha256.Sum256([]byte(input))
	return hex.EncodeToString(h[:16]) + ".claim"
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
	if c.Input == "" {
		return errors.New("journal: claim without input name")
	}
	data, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	err = durable.WriteFile(j.dir, fileName(c.Input), 0o644, func(w io.Writer) error {
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
	j.mu.Unlock()
	err := os.Remove(filepath.Join(j.dir, fileName(input)))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("journal: remove claim for %s: %w", input, err)
	}
	return nil
}
