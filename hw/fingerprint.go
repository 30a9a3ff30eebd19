package hw

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// fingerprint hashes what decides the backend choice: architecture, board,
// CPU, usable CPUs and the delegate libraries (with size and modification
// time, so installing or upgrading one invalidates cached self-tests).
func fingerprint(r *Report) string {
	h := sha256.New()
	fmt.Fprintf(h, "v%d\n%s/%s\n%s\n%s\n%s\n%d/%d\n", SchemaVersion, r.Host.OS, r.Host.Arch,
		r.Board.Model, r.CPU.Model, strings.Join(r.CPU.Features, ","), r.CPU.Online, r.Cgroup.CPUs)
	file := func(p string) {
		local := p
		if r.Root != "/" && r.Root != "" {
			local = filepath.Join(r.Root, p)
		}
		if st, err := os.Stat(local); err == nil {
			fmt.Fprintf(h, "%s %d %d\n", p, st.Size(), st.ModTime().UnixNano())
		} else {
			fmt.Fprintf(h, "%s -\n", p)
		}
	}
	for _, a := range r.Accelerators {
		fmt.Fprintf(h, "%s %s %d\n", a.Name, a.Status, len(a.Devices))
		for _, l := range a.Libraries {
			file(l)
		}
	}
	if r.Delegate != nil {
		file(r.Delegate.Path)
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}
