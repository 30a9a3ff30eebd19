package hw

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"
)

// fixture copies testdata/fixtures/name into a temporary root and adds
// extra files: those a module or the .gitignore cannot hold (names with
// ':', libraries named *.so*).
func fixture(t *testing.T, name string, extra map[string]string) string {
	t.Helper()
	src := filepath.Join("testdata", "fixtures", name)
	dst := t.TempDir()
	err := filepath.Walk(src, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if info.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	writeFiles(t, dst, extra)
	return dst
}

func accel(r Report, name string) Accelerator {
	for _, a := range r.Accelerators {
		if a.Name == name {
			return a
		}
	}
	return Accelerator{}
}

func TestProbeFixtures(t *testing.T) {
	const gib = 1 << 30
	tests := []struct {
		name     string
		arch     string
		watch    string
		extra    map[string]string
		check    func(t *testing.T, r Report)
		problems int
	}{{
		name:  "pi5",
		arch:  "arm64",
		watch: "/home/kiosk/drop",
		extra: map[string]string{
			"sys/devices/platform/soc@107c000000/soc@107c000000:firmware/get_throttled": "0\n",
			"usr/lib/aarch64-linux-gnu/libedgetpu.so.1.0":                               "",
			"usr/lib/aarch64-linux-gnu/libedgetpu.so.1":                                 "",
		},
		check: func(t *testing.T, r Report) {
			want := Board{Model: "Raspberry Pi 5 Model B Rev 1.0", Compatible: []string{"raspberrypi,5-model-b", "brcm,bcm2712"}, Family: "raspberry-pi", Source: "device-tree"}
			if !reflect.DeepEqual(r.Board, want) {
				t.Errorf("board = %+v, want %+v", r.Board, want)
			}
			if r.CPU.Model != "Arm Cortex-A76" || r.CPU.Online != 4 || !r.CPU.Has("asimddp") || r.CPU.Has("i8mm") {
				t.Errorf("cpu = %+v", r.CPU)
			}
			if r.Cgroup.Version != 2 || r.Cgroup.CPUQuota != 0 || r.Cgroup.MemoryMaxBytes != 0 || r.Cgroup.CPUs != 4 {
				t.Errorf("cgroup = %+v", r.Cgroup)
			}
			if r.Memory.TotalBytes != 8245360*1024 || r.Memory.AvailableBytes != 7512344*1024 {
				t.Errorf("memory = %+v", r.Memory)
			}
			if r.Thermal.MaxTempC != 52.15 || r.Thermal.Throttling || r.Thermal.PiState == nil || r.Thermal.PiState.Raw != "0x0" {
				t.Errorf("thermal = %+v (pi %+v)", r.Thermal, r.Thermal.PiState)
			}
			if w := r.Watch; w == nil || w.Type != "ext4" || w.MountPoint != "/" || !w.Events || w.Network {
				t.Errorf("watch = %+v", w)
			}
			tpu := accel(r, "edgetpu")
			if tpu.Status != Present || !reflect.DeepEqual(tpu.Devices, []string{"/dev/apex_0"}) ||
				len(tpu.Libraries) != 2 || tpu.Libraries[0] != "/usr/lib/aarch64-linux-gnu/libedgetpu.so.1" {
				t.Errorf("edgetpu = %+v", tpu)
			}
			// The fixture library is an empty file: found, but no plugin.
			if tpu.Plugin == nil || tpu.Plugin.OK || !strings.Contains(tpu.Plugin.Error, "not an ELF") {
				t.Errorf("edgetpu plugin = %+v", tpu.Plugin)
			}
			if gpu := accel(r, "gpu"); gpu.Status != Partial || !reflect.DeepEqual(gpu.Devices, []string{"/dev/dri/renderD128"}) {
				t.Errorf("gpu = %+v", gpu)
			}
			if len(r.Plugins()) != 0 {
				t.Errorf("plugins = %+v, want none", r.Plugins())
			}
		},
	}, {
		name:  "pi4",
		arch:  "arm64",
		watch: "/srv/photos/my drop/incoming",
		extra: map[string]string{
			"sys/devices/platform/soc/soc:firmware/get_throttled": "50005\n",
		},
		check: func(t *testing.T, r Report) {
			if r.Board.Model != "Raspberry Pi 4 Model B Rev 1.5" || r.Board.Family != "raspberry-pi" {
				t.Errorf("board = %+v", r.Board)
			}
			if r.CPU.Model != "Arm Cortex-A72" || !reflect.DeepEqual(r.CPU.Features, []string{"asimd"}) {
				t.Errorf("cpu = %+v", r.CPU)
			}
			// systemd CPUQuota=200%, MemoryMax=512M on the service, 1G on the slice.
			if r.Cgroup.Version != 2 || r.Cgroup.CPUQuota != 2 || r.Cgroup.MemoryMaxBytes != 512<<20 || r.Cgroup.CPUs != 2 {
				t.Errorf("cgroup = %+v", r.Cgroup)
			}
			p := r.Thermal.PiState
			if p == nil || !p.UnderVoltage || !p.Throttled || p.FreqCapped || !p.UnderVoltageOccurred || !p.ThrottledOccurred || !r.Thermal.Throttling {
				t.Errorf("thermal = %+v, pi = %+v", r.Thermal, p)
			}
			if r.Thermal.MaxTempC != 82.374 {
				t.Errorf("max temp = %v", r.Thermal.MaxTempC)
			}
			w := r.Watch
			if w == nil || w.Type != "cifs" || w.MountPoint != "/srv/photos/my drop" || w.Source != "//nas.local/drop" || !w.Network || w.Events {
				t.Errorf("watch = %+v", w)
			}
			tpu := accel(r, "edgetpu")
			if tpu.Status != Partial || !reflect.DeepEqual(tpu.Devices, []string{"usb 1a6e:089a 1-1.3"}) || tpu.Plugin != nil {
				t.Errorf("edgetpu = %+v", tpu)
			}
		},
	}, {
		name:  "x86vm",
		arch:  "amd64",
		watch: "/data/drop",
		check: func(t *testing.T, r Report) {
			if r.Board.Model != "QEMU Standard PC (Q35 + ICH9, 2009)" || r.Board.Family != "pc" || r.Board.Source != "dmi" {
				t.Errorf("board = %+v", r.Board)
			}
			if r.CPU.Model != "Intel Xeon Processor (Cascadelake)" || r.CPU.Online != 8 || !r.CPU.Has("avx512_vnni") || !r.CPU.Has("avx2") || r.CPU.Has("avx_vnni") {
				t.Errorf("cpu = %+v", r.CPU)
			}
			// cgroup v1: quota 1.5 CPUs rounds up to 2 threads.
			if r.Cgroup.Version != 1 || r.Cgroup.CPUQuota != 1.5 || r.Cgroup.MemoryMaxBytes != 1<<30 || r.Cgroup.CPUSet != "0-7" || r.Cgroup.CPUs != 2 {
				t.Errorf("cgroup = %+v", r.Cgroup)
			}
			if len(r.Thermal.Zones) != 0 || r.Thermal.Throttling {
				t.Errorf("thermal = %+v", r.Thermal)
			}
			if w := r.Watch; w == nil || w.Type != "nfs4" || !w.Network || w.Events {
				t.Errorf("watch = %+v", w)
			}
			if n := accel(r, "nnapi"); n.Status != NotApplicable {
				t.Errorf("nnapi = %+v", n)
			}
		},
	}}
	_ = gib
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := fixture(t, tt.name, tt.extra)
			r := Probe(context.Background(), Options{Root: root, Arch: tt.arch, WatchDir: tt.watch})
			if len(r.Problems) != tt.problems {
				t.Errorf("problems = %+v", r.Problems)
			}
			if r.Host.Arch != tt.arch || r.Host.Emulated || r.Fingerprint == "" {
				t.Errorf("host = %+v, fingerprint %q", r.Host, r.Fingerprint)
			}
			tt.check(t, r)
			var text strings.Builder
			if err := r.WriteText(&text); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(text.String(), r.Board.Model) {
				t.Errorf("text report lacks the board:\n%s", text.String())
			}
			if t.Failed() {
				t.Logf("report:\n%s", text.String())
			}
		})
	}
}

// The fingerprint changes when a delegate library appears, not when the
// temperature does.
func TestFingerprint(t *testing.T) {
	root := fixture(t, "pi5", nil)
	probe := func() string {
		return Probe(context.Background(), Options{Root: root, Arch: "arm64"}).Fingerprint
	}
	a := probe()
	if err := os.WriteFile(filepath.Join(root, "sys/class/thermal/thermal_zone0/temp"), []byte("79000\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if b := probe(); b != a {
		t.Errorf("fingerprint changed with temperature: %s -> %s", a, b)
	}
	lib := filepath.Join(root, "usr/lib/aarch64-linux-gnu/libarmnnDelegate.so.29")
	if err := os.MkdirAll(filepath.Dir(lib), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(lib, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if c := probe(); c == a {
		t.Error("fingerprint did not change when libarmnnDelegate appeared")
	}
}

// A probe stuck on a read (a FIFO here; a hung NFS server in real life)
// is reported and does not hold up the others.
func TestProbeTimeout(t *testing.T) {
	root := fixture(t, "pi5", nil)
	fifo := filepath.Join(root, "proc/meminfo")
	if err := os.Remove(fifo); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	t.Cleanup(func() {
		// Unblock the probe's open so its goroutine ends.
		if f, err := os.OpenFile(fifo, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
			f.Close()
		}
	})
	start := time.Now()
	r := Probe(context.Background(), Options{Root: root, Arch: "arm64", Timeout: 300 * time.Millisecond})
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Probe took %v with a 300ms timeout", d)
	}
	want := []Problem{{"memory", "timed out after 300ms"}}
	if !reflect.DeepEqual(r.Problems, want) {
		t.Errorf("problems = %+v, want %+v", r.Problems, want)
	}
	if r.Board.Model == "" || r.CPU.Online != 4 {
		t.Errorf("other probes lost: board %+v cpu %+v", r.Board, r.CPU)
	}
}

func TestProbeLive(t *testing.T) {
	dir := t.TempDir()
	r := Probe(context.Background(), Options{WatchDir: dir})
	if r.Host.Arch != runtime.GOARCH || r.CPU.Online < 1 || r.Cgroup.CPUs < 1 || r.Memory.TotalBytes == 0 {
		t.Errorf("report = %+v", r)
	}
	if r.Watch == nil || r.Watch.Type == "" || r.Watch.Magic == "" {
		t.Errorf("watch = %+v", r.Watch)
	}
	if r.CPU.FeatureSource == "" {
		t.Errorf("no CPU features source: %+v", r.CPU)
	}
}

// The JSON document keeps its top-level keys; renaming one needs a new
// SchemaVersion.
func TestJSONSchema(t *testing.T) {
	r := Probe(context.Background(), Options{Root: fixture(t, "pi4", nil), Arch: "arm64", WatchDir: "/srv/photos", Delegate: "/nope.so"})
	data, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for k := range doc {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	want := []string{"accelerators", "board", "cgroup", "cpu", "delegate", "fingerprint", "host", "memory", "probed_at", "root", "schema", "thermal", "version", "watch"}
	if !reflect.DeepEqual(keys, want) {
		t.Errorf("keys = %v, want %v", keys, want)
	}
	var back Report
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	if back.Schema != Schema || back.Version != SchemaVersion || back.Delegate == nil || back.Delegate.OK {
		t.Errorf("round trip: %+v", back)
	}
}

func TestParseLDCache(t *testing.T) {
	data, err := os.ReadFile("/etc/ld.so.cache")
	if err != nil {
		t.Skipf("no ld.so.cache here: %v", err)
	}
	entries, err := parseLDCache(data)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, e := range entries {
		if e.name == "libc.so.6" {
			found = true
			if _, err := os.Stat(e.path); err != nil {
				t.Errorf("libc.so.6 -> %s: %v", e.path, err)
			}
		}
	}
	if !found {
		t.Errorf("libc.so.6 not in %d entries", len(entries))
	}
	for _, bad := range [][]byte{nil, []byte("glibc-ld.so.cache1.1"), []byte("ld.so-1.7.0\x00\xff\xff\xff\xff"), data[:60]} {
		if _, err := parseLDCache(bad); err == nil {
			t.Errorf("parseLDCache(%q) did not fail", bad)
		}
	}
}

func TestCheckPlugin(t *testing.T) {
	cc, err := exec.LookPath("cc")
	if err != nil {
		t.Skip("no C compiler (cc) to build a plugin")
	}
	dir := t.TempDir()
	build := func(name, src string) string {
		c := filepath.Join(dir, name+".c")
		so := filepath.Join(dir, name+".so")
		if err := os.WriteFile(c, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command(cc, "-shared", "-fPIC", "-o", so, c).CombinedOutput(); err != nil {
			t.Fatalf("cc: %v\n%s", err, out)
		}
		return so
	}
	good := build("good", "void *tflite_plugin_create_delegate(char **k, char **v, unsigned long n, void (*e)(const char *)) { return 0; }\nvoid tflite_plugin_destroy_delegate(void *d) {}\n")
	half := build("half", "void *tflite_plugin_create_delegate(void) { return 0; }\n")
	text := filepath.Join(dir, "text.so")
	os.WriteFile(text, []byte("not a library"), 0o644)

	tests := []struct {
		path, arch string
		ok         bool
		errHas     string
	}{
		{good, runtime.GOARCH, true, ""},
		{good, map[string]string{"amd64": "arm64", "arm64": "amd64"}[runtime.GOARCH], false, "built for"},
		{half, runtime.GOARCH, false, "does not export tflite_plugin_destroy_delegate"},
		{text, runtime.GOARCH, false, "not an ELF"},
		{filepath.Join(dir, "missing.so"), runtime.GOARCH, false, "no such file"},
		{dir, runtime.GOARCH, false, "not a regular file"},
		{filepath.Join("..", "build", "tflite", "linux_"+runtime.GOARCH, "libexternal_delegate_obj.so"), runtime.GOARCH, false, "exports neither"},
	}
	for _, tt := range tests {
		if tt.errHas == "exports neither" {
			if _, err := os.Stat(tt.path); err != nil {
				t.Logf("skipping %s: run make deps-tflite", tt.path)
				continue
			}
		}
		p := CheckPlugin(tt.path, tt.arch)
		if p.OK != tt.ok || !strings.Contains(p.Error, tt.errHas) {
			t.Errorf("CheckPlugin(%s, %s) = %+v, want ok=%v and error containing %q", filepath.Base(tt.path), tt.arch, p, tt.ok, tt.errHas)
		}
	}

	// An Edge TPU with its library offers the library to the self-test;
	// without the device it does not.
	lib, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	const tpuLib = "usr/lib/x86_64-linux-gnu/libedgetpu.so.1"
	for _, dev := range []bool{true, false} {
		extra := map[string]string{tpuLib: string(lib)}
		if dev {
			extra["dev/apex_0"] = ""
		}
		r := Probe(context.Background(), Options{Root: fixture(t, "x86vm", extra), Arch: runtime.GOARCH})
		tpu := accel(r, "edgetpu")
		if tpu.Plugin == nil || !tpu.Plugin.OK || tpu.Plugin.Path != "/"+tpuLib {
			t.Errorf("edgetpu plugin = %+v", tpu.Plugin)
		}
		if got := len(r.Plugins()); dev && got != 1 || !dev && got != 0 {
			t.Errorf("device %v: plugins = %+v (status %s)", dev, r.Plugins(), tpu.Status)
		}
	}

	// A --delegate path shows up in the report and in Plugins.
	r := Probe(context.Background(), Options{Delegate: good})
	if r.Delegate == nil || !r.Delegate.OK || len(r.Plugins()) == 0 || r.Plugins()[0].Path != good {
		t.Errorf("delegate = %+v, plugins %+v", r.Delegate, r.Plugins())
	}
}

func TestDecodeThrottled(t *testing.T) {
	if _, err := decodeThrottled("zz"); err == nil {
		t.Error("decodeThrottled(zz) did not fail")
	}
	th, err := decodeThrottled("0x80008")
	if err != nil || !th.SoftTempLimit || !th.SoftTempLimitOccurred || th.Throttled {
		t.Errorf("decodeThrottled(0x80008) = %+v, %v", th, err)
	}
}

func TestCountCPUList(t *testing.T) {
	for in, want := range map[string]int{"0": 1, "0-3": 4, "0-3,6,8-9": 7, "": 0} {
		if got, err := countCPUList(in); err != nil || got != want {
			t.Errorf("countCPUList(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"x", "3-1", "1-"} {
		if _, err := countCPUList(bad); err == nil {
			t.Errorf("countCPUList(%q) did not fail", bad)
		}
	}
}
