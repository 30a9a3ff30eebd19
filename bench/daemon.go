package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	measure "github.com/animed/animed/internal/bench"
)

// DaemonOptions configure Daemon: the real `animed run` on a drop folder.
type DaemonOptions struct {
	Animed  string   // the animed binary
	Inputs  [][]byte // JPEG files to drop (see PreparePhotos)
	Threads int
	Settle  time.Duration // --settle; default 200ms
	Timeout time.Duration // default 5 minutes
	// Args are extra `animed run` flags (e.g. --model PATH).
	Args []string
}

// DaemonResult is what the daemon did with the dropped photos.
type DaemonResult struct {
	// Args are the extra `animed run` flags of this run (DaemonOptions.Args).
	Args   []string `json:"args,omitempty"`
	Photos int      `json:"photos"`
	// WallS runs from the daemon's start to the last result on disk
	// (start-up, settle wait and the start-up scan included).
	WallS float64 `json:"wall_s"`
	// SteadyPhotosPerS is (photos-1) over the time from the first result
	// to the last one: the rate once the daemon is busy.
	SteadyPhotosPerS float64                    `json:"steady_photos_per_s"`
	Stages           map[string]measure.Latency `json:"stages"` // from the "photo done" log lines
	PeakRSSKB        int64                      `json:"peak_rss_kb"`
}

// DaemonStages are the per-photo timings the daemon logs, in order.
var DaemonStages = []string{"decode_ms", "infer_ms", "encode_ms", "write_ms", "total_ms"}

// Daemon starts `animed run` on a temporary drop folder that already holds
// the inputs (the start-up scan takes them), waits until every result is
// in the output folder, reads the daemon's VmHWM and stops it with SIGTERM.
func Daemon(ctx context.Context, o DaemonOptions) (DaemonResult, error) {
	if len(o.Inputs) == 0 {
		return DaemonResult{}, fmt.Errorf("daemon bench: no inputs")
	}
	if o.Settle <= 0 {
		o.Settle = 200 * time.Millisecond
	}
	if o.Timeout <= 0 {
		o.Timeout = 5 * time.Minute
	}
	dir, err := os.MkdirTemp("", "animed-bench-")
	if err != nil {
		return DaemonResult{}, err
	}
	defer os.RemoveAll(dir)
	watch, out := filepath.Join(dir, "drop"), filepath.Join(dir, "out")
	for _, d := range []string{watch, out} {
		if err := os.Mkdir(d, 0o755); err != nil {
			return DaemonResult{}, err
		}
	}
	for i, b := range o.Inputs {
		if err := os.WriteFile(filepath.Join(watch, fmt.Sprintf("photo%03d.jpg", i)), b, 0o644); err != nil {
			return DaemonResult{}, err
		}
	}
	// Let the files age past --settle before the daemon looks.
	time.Sleep(o.Settle)

	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	args := append([]string{"run", "--watch", watch, "--out", out, "--settle", o.Settle.String(),
		"--log-format", "json"}, o.Args...)
	if o.Threads > 0 {
		args = append(args, "--threads", strconv.Itoa(o.Threads))
	}
	cmd := exec.Command(o.Animed, args...)
	logs, err := cmd.StderrPipe()
	if err != nil {
		return DaemonResult{}, err
	}
	cmd.Stdout = cmd.Stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return DaemonResult{}, fmt.Errorf("daemon bench: %w", err)
	}
	var (
		mu     sync.Mutex
		stages = map[string][]time.Duration{}
		tail   []string
	)
	exited := make(chan struct{})
	go func() {
		defer close(exited)
		sc := bufio.NewScanner(logs)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			var rec map[string]any
			mu.Lock()
			tail = append(tail, line)
			if len(tail) > 5 {
				tail = tail[1:]
			}
			if json.Unmarshal([]byte(line), &rec) == nil && rec["msg"] == "photo done" {
				for _, k := range DaemonStages {
					if v, ok := rec[k].(float64); ok {
						stages[k] = append(stages[k], time.Duration(v*float64(time.Millisecond)))
					}
				}
			}
			mu.Unlock()
		}
		cmd.Wait()
	}()
	stop := func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
	}

	var first, last time.Time
	var peak int64
	for {
		n := countResults(out)
		now := time.Now()
		if n > 0 && first.IsZero() {
			first = now
		}
		if h := pidStatusKB(cmd.Process.Pid, "VmHWM"); h > peak {
			peak = h
		}
		if n >= len(o.Inputs) {
			last = now
			break
		}
		exitedEarly := false
		select {
		case <-exited:
			exitedEarly = true
		default:
		}
		if ctx.Err() != nil || exitedEarly {
			stop()
			mu.Lock()
			defer mu.Unlock()
			return DaemonResult{}, fmt.Errorf("daemon bench: %d of %d results after %s: %s", n, len(o.Inputs),
				time.Since(start).Round(time.Millisecond), strings.Join(tail, " | "))
		}
		time.Sleep(20 * time.Millisecond)
	}
	if h := pidStatusKB(cmd.Process.Pid, "VmHWM"); h > peak {
		peak = h
	}
	stop()
	res := DaemonResult{Args: o.Args, Photos: len(o.Inputs), WallS: last.Sub(start).Seconds(), PeakRSSKB: peak, Stages: map[string]measure.Latency{}}
	if len(o.Inputs) > 1 && last.After(first) {
		res.SteadyPhotosPerS = float64(len(o.Inputs)-1) / last.Sub(first).Seconds()
	}
	mu.Lock()
	defer mu.Unlock()
	for k, v := range stages {
		res.Stages[k] = measure.Summarize(v)
	}
	return res, nil
}

// countResults counts finished results (no hidden or temporary names).
func countResults(dir string) int {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return 0
	}
	n := 0
	for _, e := range ents {
		name := e.Name()
		if e.Type().IsRegular() && !strings.HasPrefix(name, ".") && strings.HasSuffix(name, ".jpg") {
			n++
		}
	}
	return n
}

func pidStatusKB(pid int, key string) int64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return -1
	}
	defer f.Close()
	return measure.StatusKB(f, key)
}

// WriteDaemonVariantsMarkdown writes one row per daemon run (the default
// configuration first, then runs with other flags): the memory/speed
// trade-off a user can pick from.
func WriteDaemonVariantsMarkdown(w io.Writer, runs []DaemonResult) error {
	var b strings.Builder
	measure.TableRow(&b, []string{"`animed run` flags", "photos/s once busy", "infer median ms", "peak RSS MB"})
	measure.TableRow(&b, []string{"---", "---:", "---:", "---:"})
	for _, r := range runs {
		flags := "(defaults)"
		if len(r.Args) > 0 {
			flags = "`" + strings.Join(r.Args, " ") + "`"
		}
		infer := ""
		if s, ok := r.Stages["infer_ms"]; ok {
			infer = measure.FormatMs(s.Median)
		}
		measure.TableRow(&b, []string{flags, fmt.Sprintf("%.2f", r.SteadyPhotosPerS), infer, fmt.Sprintf("%.1f", float64(r.PeakRSSKB)/1024)})
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteDaemonMarkdown writes the daemon run as Markdown.
func WriteDaemonMarkdown(w io.Writer, r DaemonResult) error {
	var b strings.Builder
	fmt.Fprintf(&b, "`animed run` on a drop folder holding %d photos of 1024x768 (start-up scan), --log-format json; "+
		"stage times from its \"photo done\" log lines.\n\n", r.Photos)
	measure.TableRow(&b, []string{"Stage (daemon log)", "median ms", "p90 ms", "mean ms"})
	measure.TableRow(&b, []string{"---", "---:", "---:", "---:"})
	for _, k := range DaemonStages {
		s, ok := r.Stages[k]
		if !ok {
			continue
		}
		measure.TableRow(&b, []string{strings.TrimSuffix(k, "_ms"), measure.FormatMs(s.Median), measure.FormatMs(s.P90), measure.FormatMs(s.Mean)})
	}
	fmt.Fprintf(&b, "\n**%.2f photos/s** once busy (%.2f photos/s over the whole %.1f s from start to the last result); "+
		"daemon peak RSS (VmHWM) %.1f MB.\n", r.SteadyPhotosPerS, float64(r.Photos)/r.WallS, r.WallS, float64(r.PeakRSSKB)/1024)
	_, err := io.WriteString(w, b.String())
	return err
}
