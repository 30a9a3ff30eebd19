package hw

import (
	"bufio"
	"bytes"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"golang.org/x/sys/cpu"
)

func probeBoard(f rootFS, o Options) (func(*Report), error) {
	var b Board
	if model, err := f.readString("/proc/device-tree/model"); err == nil && model != "" {
		b.Model, b.Source = model, "device-tree"
		if raw, err := f.read("/proc/device-tree/compatible"); err == nil {
			for _, s := range bytes.Split(raw, []byte{0}) {
				if s := strings.TrimSpace(string(s)); s != "" {
					b.Compatible = append(b.Compatible, s)
				}
			}
		}
	} else if vendor, err := f.readString("/sys/class/dmi/id/sys_vendor"); err == nil {
		product, _ := f.readString("/sys/class/dmi/id/product_name")
		b.Model = strings.TrimSpace(vendor + " " + product)
		b.Source = "dmi"
	}
	b.Family = boardFamily(b, o.Arch)
	return func(r *Report) { r.Board = b }, nil
}

func boardFamily(b Board, arch string) string {
	text := strings.ToLower(b.Model + " " + strings.Join(b.Compatible, " "))
	switch {
	case strings.Contains(text, "raspberry"):
		return "raspberry-pi"
	case strings.Contains(text, "jetson") || strings.Contains(text, "nvidia,tegra"):
		return "jetson"
	case strings.Contains(text, "rockchip"):
		return "rockchip"
	case strings.Contains(text, "amlogic"):
		return "amlogic"
	case strings.Contains(text, "allwinner"):
		return "allwinner"
	case b.Source == "dmi" || arch == "amd64" || arch == "386":
		return "pc"
	}
	return ""
}

// notable lists the /proc/cpuinfo features that matter for TFLite/XNNPACK
// INT8 and FP16 kernels; the rest are left out of the report.
var notable = map[string]bool{
	// arm64
	"asimd": true, "asimddp": true, "i8mm": true, "fphp": true, "asimdhp": true,
	"sve": true, "sve2": true, "bf16": true, "asimdrdm": true,
	// amd64
	"sse4_1": true, "sse4_2": true, "avx": true, "avx2": true, "fma": true, "f16c": true,
	"avx512f": true, "avx512bw": true, "avx512vl": true, "avx512dq": true,
	"avx512_vnni": true, "avx_vnni": true, "avx512_bf16": true, "amx_int8": true,
}

// cpuinfo is what /proc/cpuinfo says.
type cpuinfo struct {
	arch     string // arm64, amd64 or ""
	model    string
	features []string // notable ones, sorted
}

func parseCPUInfo(data []byte) cpuinfo {
	var ci cpuinfo
	var implementer, part, hardware string
	seen := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		key, val, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		key, val = strings.TrimSpace(key), strings.TrimSpace(val)
		switch key {
		case "flags": // x86
			ci.arch = "amd64"
			addFeatures(seen, val)
		case "Features": // arm64
			ci.arch = "arm64"
			addFeatures(seen, val)
		case "model name":
			if ci.model == "" {
				ci.model = val
			}
		case "CPU implementer":
			if implementer == "" {
				implementer = val
			}
		case "CPU part":
			if part == "" {
				part = val
			}
		case "Hardware":
			hardware = val
		}
	}
	if ci.model == "" && part != "" {
		ci.model = armCore(implementer, part)
	}
	if ci.model == "" {
		ci.model = hardware
	}
	for f := range seen {
		ci.features = append(ci.features, f)
	}
	sort.Strings(ci.features)
	return ci
}

func addFeatures(seen map[string]bool, list string) {
	for _, f := range strings.Fields(list) {
		if notable[f] {
			seen[f] = true
		}
	}
}

// armCore names an Arm core from its MIDR implementer and part numbers.
func armCore(implementer, part string) string {
	imp, err1 := strconv.ParseUint(implementer, 0, 32)
	p, err2 := strconv.ParseUint(part, 0, 32)
	if err1 != nil || err2 != nil {
		return ""
	}
	if imp == 0x41 { // Arm Ltd
		names := map[uint64]string{
			0xd03: "Cortex-A53", 0xd04: "Cortex-A35", 0xd05: "Cortex-A55", 0xd07: "Cortex-A57",
			0xd08: "Cortex-A72", 0xd09: "Cortex-A73", 0xd0a: "Cortex-A75", 0xd0b: "Cortex-A76",
			0xd0c: "Neoverse-N1", 0xd0d: "Cortex-A77", 0xd40: "Neoverse-V1", 0xd41: "Cortex-A78",
			0xd42: "Cortex-A78AE", 0xd44: "Cortex-X1", 0xd46: "Cortex-A510", 0xd47: "Cortex-A710",
			0xd48: "Cortex-X2", 0xd49: "Neoverse-N2", 0xd4b: "Cortex-A78C", 0xd4d: "Cortex-A715",
			0xd4e: "Cortex-X3", 0xd80: "Cortex-A520", 0xd81: "Cortex-A720", 0xd82: "Cortex-X4",
		}
		if n, ok := names[p]; ok {
			return "Arm " + n
		}
	}
	if imp == 0x4e && p == 0x004 {
		return "NVIDIA Carmel"
	}
	return fmt.Sprintf("implementer %#x part %#x", imp, p)
}

// liveFeatures are the CPU features the Go runtime found (HWCAP on arm64,
// CPUID on amd64), spelled as in /proc/cpuinfo.
func liveFeatures(arch string) []string {
	var fs []string
	add := func(ok bool, name string) {
		if ok {
			fs = append(fs, name)
		}
	}
	switch arch {
	case "arm64":
		a := cpu.ARM64
		add(a.HasASIMD, "asimd")
		add(a.HasASIMDDP, "asimddp")
		add(a.HasI8MM, "i8mm")
		add(a.HasFPHP, "fphp")
		add(a.HasASIMDHP, "asimdhp")
		add(a.HasASIMDRDM, "asimdrdm")
		add(a.HasSVE, "sve")
		add(a.HasSVE2, "sve2")
	case "amd64":
		x := cpu.X86
		add(x.HasSSE41, "sse4_1")
		add(x.HasSSE42, "sse4_2")
		add(x.HasAVX, "avx")
		add(x.HasAVX2, "avx2")
		add(x.HasFMA, "fma")
		add(x.HasAVX512F, "avx512f")
		add(x.HasAVX512BW, "avx512bw")
		add(x.HasAVX512VL, "avx512vl")
		add(x.HasAVX512DQ, "avx512dq")
		add(x.HasAVX512VNNI, "avx512_vnni")
		add(x.HasAVXVNNI, "avx_vnni")
		add(x.HasAVX512BF16, "avx512_bf16")
	}
	sort.Strings(fs)
	return fs
}

func probeCPU(f rootFS, o Options) (func(*Report), error) {
	var c CPU
	var emulated bool
	data, err := f.read("/proc/cpuinfo")
	if err == nil {
		ci := parseCPUInfo(data)
		c.Model, c.Features, c.FeatureSource = ci.model, ci.features, "cpuinfo"
		if ci.arch != "" && ci.arch != o.Arch {
			// qemu-user passes the host's /proc/cpuinfo through.
			emulated = true
			c.Model, c.Features, c.FeatureSource = "", nil, ""
		}
	}
	if f.live && (c.FeatureSource == "" || emulated) {
		c.Features, c.FeatureSource = liveFeatures(o.Arch), "hwcap"
	}
	if c.Features == nil {
		c.Features = []string{}
	}
	var problems []error
	if err != nil {
		problems = append(problems, err)
	}
	if s, err := f.readString("/sys/devices/system/cpu/online"); err == nil {
		if n, err := countCPUList(s); err == nil {
			c.Online = n
		} else {
			problems = append(problems, err)
		}
	} else {
		problems = append(problems, err)
	}
	apply := func(r *Report) {
		r.CPU = c
		r.Host.Emulated = emulated
	}
	if len(problems) > 0 {
		return apply, problems[0]
	}
	return apply, nil
}

// countCPUList counts the CPUs in a kernel CPU list such as "0-3,6".
func countCPUList(s string) (int, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	n := 0
	for _, part := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.Atoi(lo)
		if err != nil {
			return 0, fmt.Errorf("cpu list %q: %w", s, err)
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(hi); err != nil || b < a {
				return 0, fmt.Errorf("cpu list %q: bad range %q", s, part)
			}
		}
		n += b - a + 1
	}
	return n, nil
}

func probeMemory(f rootFS, o Options) (func(*Report), error) {
	data, err := f.read("/proc/meminfo")
	if err != nil {
		return nil, err
	}
	var m Memory
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 2 {
			continue
		}
		v, err := strconv.ParseUint(fields[1], 10, 64)
		if err != nil {
			continue
		}
		if len(fields) > 2 && fields[2] == "kB" {
			v *= 1024
		}
		switch fields[0] {
		case "MemTotal:":
			m.TotalBytes = v
		case "MemAvailable:":
			m.AvailableBytes = v
		}
	}
	return func(r *Report) { r.Memory = m }, nil
}
