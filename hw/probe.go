package hw

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"
)

// DefaultTimeout bounds each probe when Options.Timeout is zero.
const DefaultTimeout = 2 * time.Second

// Options configure [Probe].
type Options struct {
	// Root is the directory /proc, /sys, /dev, /etc and the library
	// folders are read under; "" means "/". Only with "/" are the live
	// system calls used (statfs, CPU feature bits, LD_LIBRARY_PATH).
	Root string
	// Arch is the GOARCH the report is for; "" means runtime.GOARCH. Tests
	// probing an arm64 fixture on amd64 set it.
	Arch string
	// WatchDir, when set, is the folder whose filesystem is reported.
	WatchDir string
	// Delegate, when set, is a user-supplied external delegate library
	// (--delegate PATH) to check.
	Delegate string
	// Timeout bounds each probe; a probe that takes longer is reported as
	// a Problem and its result dropped. Zero means DefaultTimeout.
	Timeout time.Duration
	// Getenv reads LD_LIBRARY_PATH when Root is "/"; nil means os.Getenv.
	Getenv func(string) string
}

// Probe runs every probe concurrently and returns what they found. It never
// fails: probes that fail or time out are listed in Report.Problems. It
// returns when all probes are done, each has hit its timeout, or ctx ends.
func Probe(ctx context.Context, o Options) Report {
	if o.Root == "" {
		o.Root = "/"
	}
	if o.Arch == "" {
		o.Arch = runtime.GOARCH
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.Getenv == nil {
		o.Getenv = os.Getenv
	}
	r := Report{
		Schema:   Schema,
		Version:  SchemaVersion,
		Root:     o.Root,
		ProbedAt: time.Now().UTC().Truncate(time.Millisecond),
		Host:     Host{OS: runtime.GOOS, Arch: o.Arch},
	}
	fsys := rootFS{root: o.Root, live: o.Root == "/"}

	type result struct {
		name  string
		apply func(*Report)
		err   error
	}
	probes := []probe{
		{"kernel", probeKernel},
		{"board", probeBoard},
		{"cpu", probeCPU},
		{"memory", probeMemory},
		{"cgroup", probeCgroup},
		{"thermal", probeThermal},
		{"accelerators", probeAccelerators},
	}
	if o.WatchDir != "" {
		probes = append(probes, probe{"watch", probeWatch})
	}
	if o.Delegate != "" {
		probes = append(probes, probe{"delegate", probeDelegate})
	}

	// Buffered so that a probe finishing after its timeout does not leak
	// a blocked goroutine; its result is dropped.
	results := make(chan result, len(probes))
	for _, p := range probes {
		go func() {
			defer func() {
				if v := recover(); v != nil {
					results <- result{name: p.name, err: fmt.Errorf("panic: %v", v)}
				}
			}()
			apply, err := p.run(fsys, o)
			results <- result{p.name, apply, err}
		}()
	}
	done := make(map[string]bool, len(probes))
	timer := time.NewTimer(o.Timeout)
	defer timer.Stop()
wait:
	for range probes {
		select {
		case res := <-results:
			done[res.name] = true
			if res.apply != nil {
				res.apply(&r)
			}
			if res.err != nil {
				r.Problems = append(r.Problems, Problem{res.name, res.err.Error()})
			}
		case <-timer.C:
			break wait
		case <-ctx.Done():
			break wait
		}
	}
	for _, p := range probes {
		if !done[p.name] {
			why := fmt.Sprintf("timed out after %v", o.Timeout)
			if ctx.Err() != nil {
				why = ctx.Err().Error()
			}
			r.Problems = append(r.Problems, Problem{p.name, why})
		}
	}
	finish(&r, fsys.live)
	return r
}

// probe is one probe: it reads what it needs and returns a function that
// stores its findings, applied only if it finished in time.
type probe struct {
	name string
	run  func(rootFS, Options) (apply func(*Report), err error)
}

// finish derives the fields that combine several probes.
func finish(r *Report, live bool) {
	r.Cgroup.CPUs = effectiveCPUs(r.CPU.Online, r.Cgroup)
	if live && runtime.NumCPU() < r.Cgroup.CPUs {
		r.Cgroup.CPUs = runtime.NumCPU() // CPU affinity (taskset, systemd CPUAffinity=)
	}
	if r.Accelerators == nil {
		r.Accelerators = []Accelerator{}
	}
	if r.CPU.Features == nil {
		r.CPU.Features = []string{}
	}
	sort.Slice(r.Problems, func(i, j int) bool { return r.Problems[i].Probe < r.Problems[j].Probe })
	sort.Slice(r.Accelerators, func(i, j int) bool { return accelOrder(r.Accelerators[i].Name) < accelOrder(r.Accelerators[j].Name) })
	r.Fingerprint = fingerprint(r)
}

// rootFS reads files below a root directory.
type rootFS struct {
	root string
	live bool // root is "/": system calls describe the same machine
}

// path maps an absolute path on the probed machine to a path here.
func (f rootFS) path(p string) string { return filepath.Join(f.root, p) }

// maxFile bounds what one read returns; every file probed is small.
const maxFile = 1 << 20

func (f rootFS) read(p string) ([]byte, error) {
	fh, err := os.Open(f.path(p))
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	return io.ReadAll(io.LimitReader(fh, maxFile))
}

// readString returns the file's contents without surrounding white space
// and NUL bytes (device-tree strings end in NUL).
func (f rootFS) readString(p string) (string, error) {
	b, err := f.read(p)
	if err != nil {
		return "", err
	}
	return strings.Trim(string(b), " \t\r\n\x00"), nil
}

func (f rootFS) exists(p string) bool {
	_, err := os.Stat(f.path(p))
	return err == nil
}

// glob returns the matches of an absolute pattern as paths on the probed
// machine (without the root prefix), sorted.
func (f rootFS) glob(pattern string) []string {
	m, _ := filepath.Glob(f.path(pattern))
	out := make([]string, 0, len(m))
	for _, p := range m {
		rel, err := filepath.Rel(f.root, p)
		if err != nil {
			continue
		}
		out = append(out, "/"+filepath.ToSlash(rel))
	}
	sort.Strings(out)
	return out
}

func probeKernel(f rootFS, o Options) (func(*Report), error) {
	v, err := f.readString("/proc/sys/kernel/osrelease")
	if err != nil {
		return nil, err
	}
	return func(r *Report) { r.Host.Kernel = v }, nil
}

// notExist turns a missing file into a nil error: absence is a finding.
func notExist(err error) error {
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return err
}
