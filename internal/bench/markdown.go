package bench

import (
	"fmt"
	"io"
	"strings"

	"github.com/animed/animed/internal/tflite"
)

// WriteMarkdown writes the machine description and the model table of rep
// as Markdown, readable as plain text too.
func WriteMarkdown(w io.Writer, rep *Report) error {
	var b strings.Builder
	MachineMarkdown(&b, rep.Machine)
	fmt.Fprintf(&b, "\nThreads: %d. Each cell: warm-up %d run(s) excluded, then up to %d timed runs or %s, "+
		"in a fresh process per model, size and backend (peak RSS = that process's VmHWM).\n\n",
		rep.Threads, rep.Limits.Warmup, rep.Limits.MaxRuns, rep.Limits.MaxTime)
	head := []string{"Model", "Input", "Params", "File", "MACs", "Load ms"}
	for _, be := range rep.Backends {
		head = append(head, string(be)+" median / p90 ms (runs)")
	}
	head = append(head, "Peak RSS MB ("+backendList(rep.Backends)+")", "× file", "× MACs", "speed-up", "× RSS")
	TableRow(&b, head)
	sep := make([]string, len(head))
	for i := range sep {
		sep[i] = "---"
		if i > 1 {
			sep[i] = "---:"
		}
	}
	TableRow(&b, sep)
	var notes []string
	rescaled := false
	for _, r := range rep.Rows {
		macs := HumanCount(r.Stats.MACs)
		if r.StatsErr != "" {
			macs = "n/a"
			notes = append(notes, fmt.Sprintf("%s at %d²: MACs not counted: %s", r.Model, r.Stats.H, r.StatsErr))
		}
		input := fmt.Sprintf("%d²", r.Stats.H)
		if r.Rescaled {
			input += " ‡"
			rescaled = true
		}
		cells := []string{r.Model, input, HumanCount(r.Stats.Params),
			HumanBytes(int64(r.Stats.FileBytes)), macs}
		load := ""
		var rssCells []string
		for _, res := range r.Results {
			rssCells = append(rssCells, fmt.Sprintf("%.1f", float64(res.PeakRSSKB)/1024))
		}
		rss := strings.Join(rssCells, " / ")
		if len(r.Results) > 0 {
			load = fmt.Sprintf("%.0f", r.Results[0].LoadMs)
		}
		cells = append(cells, load)
		for _, res := range r.Results {
			c := fmt.Sprintf("%s / %s (%d)", FormatMs(res.Latency.Median), FormatMs(res.Latency.P90), res.Latency.Runs)
			if res.Backend != res.Requested {
				c += " †"
				notes = append(notes, fmt.Sprintf("† %s at %d²: %s ran on %s: %s", r.Model, r.Stats.H,
					res.Requested, res.Backend, firstLine(res.Fallback)))
			}
			cells = append(cells, c)
		}
		cells = append(cells, rss, FormatRatio(r.Ratios.File), FormatRatio(r.Ratios.MACs), FormatRatio(r.Ratios.Speedup), FormatRatio(r.Ratios.PeakRSS))
		TableRow(&b, cells)
	}
	b.WriteString("\nRatios compare each row with the first row of the same input size (× = this / first; " +
		"speed-up = first's median / this median, first backend column; RSS from the first backend's process).\n")
	for _, r := range rep.Rows {
		if r.Model == DefaultModel {
			notes = append(notes, fmt.Sprintf("%s = the model embedded in animed: %s", DefaultModel, rep.DefaultName))
			break
		}
	}
	if rescaled {
		notes = append(notes, "‡ the model's constant resize sizes were rewritten for this input size "+
			"(tflitefile.ScaleInput), as animed does for each photo")
	}
	for _, s := range rep.Skipped {
		notes = append(notes, "skipped: "+s)
	}
	for _, n := range notes {
		fmt.Fprintf(&b, "\n- %s", n)
	}
	if len(notes) > 0 {
		b.WriteString("\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// MachineMarkdown writes the machine description as a Markdown table.
func MachineMarkdown(b *strings.Builder, m Machine) {
	TableRow(b, []string{"Machine", ""})
	TableRow(b, []string{"---", "---"})
	TableRow(b, []string{"CPU", m.CPU})
	TableRow(b, []string{"CPUs usable", fmt.Sprint(m.CPUs)})
	TableRow(b, []string{"Arch / kernel", m.Arch + " / " + m.Kernel})
	TableRow(b, []string{"TFLite", m.TFLite})
	TableRow(b, []string{"Go", m.GoVersion})
	TableRow(b, []string{"Date (UTC)", m.Date})
	TableRow(b, []string{"Load average at start", m.Load})
}

func TableRow(b *strings.Builder, cells []string) {
	b.WriteString("| " + strings.Join(cells, " | ") + " |\n")
}

func FormatMs(v float64) string {
	switch {
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.2f", v)
}

func FormatRatio(v float64) string {
	switch {
	case v == 0:
		return "–"
	case v >= 10:
		return fmt.Sprintf("%.0fx", v)
	case v >= 0.1:
		return fmt.Sprintf("%.2fx", v)
	}
	return fmt.Sprintf("%.3fx", v)
}

// HumanCount writes n with a k/M/G suffix (powers of 1000).
func HumanCount(n int64) string {
	f := float64(n)
	switch {
	case f >= 1e9:
		return fmt.Sprintf("%.2fG", f/1e9)
	case f >= 1e6:
		return fmt.Sprintf("%.2fM", f/1e6)
	case f >= 1e3:
		return fmt.Sprintf("%.1fk", f/1e3)
	}
	return fmt.Sprint(n)
}

// HumanBytes writes n bytes in KiB or MiB.
func HumanBytes(n int64) string {
	f := float64(n)
	switch {
	case f >= 1<<20:
		return fmt.Sprintf("%.2f MiB", f/(1<<20))
	case f >= 1<<10:
		return fmt.Sprintf("%.1f KiB", f/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

func backendList(bs []tflite.Backend) string {
	var s []string
	for _, b := range bs {
		s = append(s, string(b))
	}
	return strings.Join(s, " / ")
}
