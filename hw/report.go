package hw

import "time"

// Schema names the JSON document [Report] marshals to. Version is bumped on
// any change that removes or renames a field; new fields do not bump it.
const (
	Schema        = "animed.hw.report"
	SchemaVersion = 1
)

// Report is everything the probes found. Its JSON form is stable (see
// [Schema]); zero values mean "unknown" unless a field says otherwise.
type Report struct {
	Schema       string        `json:"schema"`
	Version      int           `json:"version"`
	Root         string        `json:"root"`
	ProbedAt     time.Time     `json:"probed_at"`
	Host         Host          `json:"host"`
	Board        Board         `json:"board"`
	CPU          CPU           `json:"cpu"`
	Memory       Memory        `json:"memory"`
	Cgroup       Cgroup        `json:"cgroup"`
	Thermal      Thermal       `json:"thermal"`
	Watch        *Filesystem   `json:"watch,omitempty"`
	Accelerators []Accelerator `json:"accelerators"`
	Delegate     *Plugin       `json:"delegate,omitempty"`
	// Problems lists probes that failed or timed out; the report is still
	// usable without them.
	Problems []Problem `json:"problems,omitempty"`
	// Fingerprint is a hash of the parts of the report that decide which
	// backend is fastest (not temperatures or free memory). Self-test
	// results are cached under it.
	Fingerprint string `json:"fingerprint"`
}

// Host is the operating system and the architecture the binary runs as.
type Host struct {
	OS     string `json:"os"`
	Arch   string `json:"arch"` // GOARCH of this binary, or Options.Arch
	Kernel string `json:"kernel,omitempty"`
	// Emulated is set when /proc/cpuinfo describes another architecture
	// than Arch, as under qemu-user.
	Emulated bool `json:"emulated,omitempty"`
}

// Board identifies the machine: from the device tree on ARM boards, from DMI
// on PCs and virtual machines.
type Board struct {
	Model      string   `json:"model,omitempty"`
	Compatible []string `json:"compatible,omitempty"`
	// Family is a coarse name: raspberry-pi, jetson, rockchip, amlogic,
	// allwinner, pc, or empty.
	Family string `json:"family,omitempty"`
	Source string `json:"source,omitempty"` // device-tree or dmi
}

// CPU describes the processor.
type CPU struct {
	Model string `json:"model,omitempty"`
	// Online is the number of CPUs the kernel has online.
	Online int `json:"online"`
	// Features are the SIMD features that matter for INT8 inference
	// (arm64: asimd, asimddp, i8mm, fphp, asimdhp, sve; amd64: avx2, fma,
	// avx512*, avx_vnni, ...), sorted.
	Features []string `json:"features"`
	// FeatureSource says where Features came from: cpuinfo, or hwcap when
	// /proc/cpuinfo describes another architecture (emulation).
	FeatureSource string `json:"feature_source,omitempty"`
}

// Has reports whether the CPU has feature f (as spelled in /proc/cpuinfo).
func (c CPU) Has(f string) bool {
	for _, x := range c.Features {
		if x == f {
			return true
		}
	}
	return false
}

// Memory is system memory in bytes.
type Memory struct {
	TotalBytes     uint64 `json:"total_bytes"`
	AvailableBytes uint64 `json:"available_bytes"`
}

// Cgroup holds the limits of the cgroup this process runs in (systemd
// CPUQuota=, AllowedCPUs=, MemoryMax=). Zero limits mean unlimited.
type Cgroup struct {
	Version int    `json:"version"` // 0 (none found), 1 or 2
	Path    string `json:"path,omitempty"`
	// CPUQuota is the CPU bandwidth limit in CPUs (cpu.max quota/period),
	// the tightest along the path to the root.
	CPUQuota float64 `json:"cpu_quota,omitempty"`
	CPUSet   string  `json:"cpuset,omitempty"`
	// MemoryMaxBytes is the tightest memory.max along the path.
	MemoryMaxBytes uint64 `json:"memory_max_bytes,omitempty"`
	// CPUs is how many CPUs this process may keep busy: online CPUs,
	// limited by the cpuset and rounded-up quota. The default thread count.
	CPUs int `json:"cpus"`
}

// Thermal is the temperature and throttling state when probed.
type Thermal struct {
	Zones    []Zone     `json:"zones,omitempty"`
	MaxTempC float64    `json:"max_temp_c,omitempty"`
	CPUFreq  *CPUFreq   `json:"cpufreq,omitempty"`
	PiState  *Throttled `json:"pi_throttled,omitempty"`
	// Throttling is set when the CPU runs slower than it could right now:
	// the Raspberry Pi firmware says so, or cpufreq caps the maximum.
	Throttling bool `json:"throttling"`
}

// Zone is one /sys/class/thermal zone.
type Zone struct {
	Name  string  `json:"name"`
	Type  string  `json:"type"`
	TempC float64 `json:"temp_c"`
}

// CPUFreq is cpu0's frequency state in kHz.
type CPUFreq struct {
	CurKHz        int64  `json:"cur_khz,omitempty"`
	MaxKHz        int64  `json:"max_khz,omitempty"`         // cpuinfo_max_freq
	ScalingMaxKHz int64  `json:"scaling_max_khz,omitempty"` // current cap
	Governor      string `json:"governor,omitempty"`
}

// Throttled decodes the Raspberry Pi firmware's get_throttled bits.
type Throttled struct {
	Raw                   string `json:"raw"`
	UnderVoltage          bool   `json:"under_voltage"`
	FreqCapped            bool   `json:"freq_capped"`
	Throttled             bool   `json:"throttled"`
	SoftTempLimit         bool   `json:"soft_temp_limit"`
	UnderVoltageOccurred  bool   `json:"under_voltage_occurred"`
	FreqCappedOccurred    bool   `json:"freq_capped_occurred"`
	ThrottledOccurred     bool   `json:"throttled_occurred"`
	SoftTempLimitOccurred bool   `json:"soft_temp_limit_occurred"`
}

// Filesystem describes the filesystem holding a folder.
type Filesystem struct {
	Path       string `json:"path"`
	MountPoint string `json:"mount_point,omitempty"`
	Type       string `json:"type"`             // ext4, tmpfs, nfs, cifs, smb2, fuse, ...
	Source     string `json:"source,omitempty"` // mount source (device or server)
	Magic      string `json:"magic,omitempty"`  // statfs f_type, hex
	// Network is set for filesystems served by another machine.
	Network bool `json:"network"`
	// Events is false where inotify misses changes made by other machines
	// or by FUSE servers: the watcher must poll there.
	Events bool `json:"events"`
}

// Accelerator states.
const (
	Present       = "present"        // device and library found
	Partial       = "partial"        // a device without its library, or a library without a device
	Absent        = "absent"         // nothing found
	NotApplicable = "not applicable" // cannot exist on this OS
)

// Accelerator is an inference accelerator and its TFLite delegate library.
type Accelerator struct {
	Name      string   `json:"name"` // edgetpu, gpu, armnn, nnapi
	Status    string   `json:"status"`
	Libraries []string `json:"libraries,omitempty"`
	Devices   []string `json:"devices,omitempty"`
	// Plugin is the delegate library when it exports the TFLite external
	// delegate ABI, so the self-test can try it; nil otherwise.
	Plugin *Plugin `json:"plugin,omitempty"`
	Note   string  `json:"note,omitempty"`
}

// Plugin is the result of checking a TFLite external delegate library
// (tflite_plugin_create_delegate / tflite_plugin_destroy_delegate) from its
// ELF headers, without loading it.
type Plugin struct {
	Path       string `json:"path"`
	Machine    string `json:"machine,omitempty"` // ELF machine, e.g. EM_AARCH64
	HasCreate  bool   `json:"has_create"`
	HasDestroy bool   `json:"has_destroy"`
	// OK is set when the file is a shared library for this architecture
	// that exports both entry points. It still has to pass the self-test.
	OK    bool   `json:"ok"`
	Error string `json:"error,omitempty"`
}

// Problem is a probe that failed or did not finish in time.
type Problem struct {
	Probe string `json:"probe"`
	Error string `json:"error"`
}
