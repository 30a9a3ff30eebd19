package hw

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// WriteText writes the report for people, one finding per line.
func (r Report) WriteText(w io.Writer) error {
	bw := bufio.NewWriter(w)
	line := func(key, format string, args ...any) {
		fmt.Fprintf(bw, "%-13s %s\n", key+":", fmt.Sprintf(format, args...))
	}
	orUnknown := func(s string) string {
		if s == "" {
			return "unknown"
		}
		return s
	}
	host := r.Host.OS + "/" + r.Host.Arch
	if r.Host.Kernel != "" {
		host += ", kernel " + r.Host.Kernel
	}
	if r.Host.Emulated {
		host += " (emulated: /proc/cpuinfo is another architecture's)"
	}
	line("host", "%s", host)
	board := orUnknown(r.Board.Model)
	if r.Board.Family != "" {
		board += " [" + r.Board.Family + "]"
	}
	line("board", "%s", board)
	feats := strings.Join(r.CPU.Features, " ")
	if feats == "" {
		feats = "none found"
	}
	line("cpu", "%s, %d online, features: %s", orUnknown(r.CPU.Model), r.CPU.Online, feats)
	line("memory", "%s total, %s available", bytesHuman(r.Memory.TotalBytes), bytesHuman(r.Memory.AvailableBytes))
	line("cgroup", "%s", r.Cgroup)
	line("threads", "%d (CPUs this process may use)", r.Cgroup.CPUs)

	th := "no thermal zones"
	if len(r.Thermal.Zones) > 0 {
		th = fmt.Sprintf("max %.1f°C over %d zone(s)", r.Thermal.MaxTempC, len(r.Thermal.Zones))
	}
	if cf := r.Thermal.CPUFreq; cf != nil {
		th += fmt.Sprintf(", cpu0 %d/%d MHz", cf.CurKHz/1000, cf.MaxKHz/1000)
		if cf.ScalingMaxKHz > 0 && cf.ScalingMaxKHz < cf.MaxKHz {
			th += fmt.Sprintf(" (capped at %d MHz)", cf.ScalingMaxKHz/1000)
		}
	}
	if p := r.Thermal.PiState; p != nil {
		th += ", firmware " + p.String()
	}
	if r.Thermal.Throttling {
		th += ", THROTTLING"
	}
	line("thermal", "%s", th)
	if wf := r.Watch; wf != nil {
		events := "inotify events"
		if !wf.Events {
			events = "needs polling"
		}
		line("watch", "%s on %s (%s at %s), %s", wf.Path, orUnknown(wf.Type), orUnknown(wf.Source), orUnknown(wf.MountPoint), events)
	}
	for _, a := range r.Accelerators {
		s := a.Status
		if len(a.Devices) > 0 {
			s += ", devices " + strings.Join(a.Devices, " ")
		}
		if len(a.Libraries) > 0 {
			s += ", libraries " + strings.Join(a.Libraries, " ")
		}
		if a.Plugin != nil {
			if a.Plugin.OK {
				s += ", external delegate plugin"
			} else {
				s += ", not a plugin (" + a.Plugin.Error + ")"
			}
		}
		if a.Note != "" {
			s += "; " + a.Note
		}
		line(a.Name, "%s", s)
	}
	if d := r.Delegate; d != nil {
		if d.OK {
			line("--delegate", "%s: exports the plugin entry points (%s)", d.Path, d.Machine)
		} else {
			line("--delegate", "unusable: %s", d.Error)
		}
	}
	for _, p := range r.Problems {
		line("problem", "%s: %s", p.Probe, p.Error)
	}
	line("fingerprint", "%s", r.Fingerprint)
	return bw.Flush()
}

// WriteJSON writes the report as an indented JSON document (see Schema).
func (r Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// String lists the bits that are set, now and since boot.
func (t Throttled) String() string {
	var now, past []string
	for _, b := range []struct {
		now, past bool
		name      string
	}{
		{t.UnderVoltage, t.UnderVoltageOccurred, "under-voltage"},
		{t.FreqCapped, t.FreqCappedOccurred, "freq-capped"},
		{t.Throttled, t.ThrottledOccurred, "throttled"},
		{t.SoftTempLimit, t.SoftTempLimitOccurred, "soft-temp-limit"},
	} {
		if b.now {
			now = append(now, b.name)
		}
		if b.past {
			past = append(past, b.name)
		}
	}
	s := t.Raw
	if len(now) > 0 {
		s += " now: " + strings.Join(now, ",")
	}
	if len(past) > 0 {
		s += " since boot: " + strings.Join(past, ",")
	}
	return s
}

func bytesHuman(n uint64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := uint64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
