package systemd

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/animed/animed/daemon/config"
)

func need(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed (make deps-apt installs it): skipping", tool)
		}
	}
}

// unitLines returns the "Key=Value" lines of a unit file, comments and
// section headers left out, in order.
func unitLines(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		if l == "" || l[0] == '#' || l[0] == ';' || l[0] == '[' {
			continue
		}
		lines = append(lines, l)
	}
	return lines
}

// scratchRoot makes a root directory for systemd-analyze --root: the host's
// unit files (for the targets the units depend on), the binaries the units
// run, the units under test and, when dropin is not "", that drop-in for unit.
func scratchRoot(t *testing.T, unit, dropin string) string {
	t.Helper()
	root := t.TempDir()
	hostUnits := "/lib/systemd/system"
	if _, err := os.Stat(filepath.Join(hostUnits, "multi-user.target")); err != nil {
		t.Skipf("no systemd unit files in %s (install systemd)", hostUnits)
	}
	for _, d := range []string{"usr/bin", "usr/lib/systemd", "etc/systemd/system"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, l := range [][2]string{{"usr/lib", "lib"}, {"usr/bin", "bin"}} {
		if err := os.Symlink(l[0], filepath.Join(root, l[1])); err != nil {
			t.Fatal(err)
		}
	}
	if out, err := exec.Command("cp", "-r", hostUnits, filepath.Join(root, "usr/lib/systemd/")).CombinedOutput(); err != nil {
		t.Fatalf("copy unit files: %v\n%s", err, out)
	}
	// ExecStart and ExecReload must name executables.
	for _, bin := range []string{"usr/bin/animed", "usr/bin/kill"} {
		if err := os.WriteFile(filepath.Join(root, bin), []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, u := range []string{"animed.service", "animed@.service"} {
		b, err := os.ReadFile(u)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, "etc/systemd/system", u), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if dropin != "" {
		b, err := os.ReadFile(dropin)
		if err != nil {
			t.Fatal(err)
		}
		dir := filepath.Join(root, "etc/systemd/system", unit+".d")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(dropin)), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// configurations: the units as shipped and with each documented drop-in.
var configurations = []struct {
	name   string
	unit   string // unit name to check
	dropin string // file under examples/, or ""
}{
	{"service", "animed.service", ""},
	{"template instance", "animed@cam2.service", ""},
	{"metrics drop-in", "animed.service", "examples/metrics.conf"},
	{"Edge TPU PCIe drop-in", "animed.service", "examples/edgetpu-pcie.conf"},
	{"Edge TPU USB drop-in", "animed.service", "examples/edgetpu-usb.conf"},
	{"GPU drop-in", "animed.service", "examples/gpu.conf"},
}

func TestVerify(t *testing.T) {
	need(t, "systemd-analyze")
	for _, c := range configurations {
		t.Run(c.name, func(t *testing.T) {
			root := scratchRoot(t, c.unit, c.dropin)
			out, err := exec.Command("systemd-analyze", "verify", "--root="+root, c.unit).CombinedOutput()
			// verify exits 0 on many warnings ("Unknown key", "Failed to
			// parse"): any output is a failure.
			if err != nil || len(strings.TrimSpace(string(out))) > 0 {
				t.Errorf("systemd-analyze verify %s: %v\n%s", c.unit, err, out)
			}
		})
	}
}

var exposureRE = regexp.MustCompile(`Overall exposure level for \S+: ([0-9.]+) (\S+)`)

// TestSecurity requires an exposure of 2.0 or less ("OK" or better) for the
// units as shipped and with each documented drop-in.
func TestSecurity(t *testing.T) {
	need(t, "systemd-analyze")
	for _, c := range configurations {
		t.Run(c.name, func(t *testing.T) {
			root := scratchRoot(t, c.unit, c.dropin)
			out, err := exec.Command("systemd-analyze", "security", "--offline=yes", "--no-pager",
				"--root="+root, c.unit).CombinedOutput()
			if err != nil {
				t.Fatalf("systemd-analyze security: %v\n%s", err, out)
			}
			m := exposureRE.FindSubmatch(out)
			if m == nil {
				t.Fatalf("no exposure level in:\n%s", out)
			}
			level, err := strconv.ParseFloat(string(m[1]), 64)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%s: exposure %.1f %s", c.name, level, m[2])
			if level > 2.0 {
				t.Errorf("%s: exposure %.1f %s, want <= 2.0:\n%s", c.unit, level, m[2], out)
			}
		})
	}
}

// TestDirectives pins what the daemon and the package rely on, so that a
// change to them is deliberate.
func TestDirectives(t *testing.T) {
	lines := map[string]bool{}
	for _, l := range unitLines(t, "animed.service") {
		lines[l] = true
	}
	for _, want := range []string{
		"Type=notify",
		"NotifyAccess=main",
		"ExecStart=/usr/bin/animed run --config /etc/animed/animed.conf",
		"ExecReload=/bin/kill -HUP $MAINPID",
		"Restart=on-failure",
		"StartLimitBurst=5",
		"WatchdogSec=2min",
		"User=animed",
		"Group=animed",
		"StateDirectory=animed/state",
		"StateDirectoryMode=0700",
		"ReadWritePaths=/var/lib/animed",
		"ProtectSystem=strict",
		"ProtectHome=yes",
		"PrivateTmp=yes",
		"DevicePolicy=closed",
		"NoNewPrivileges=yes",
		"RestrictAddressFamilies=AF_UNIX",
		"SystemCallFilter=@system-service",
		"WantedBy=multi-user.target",
	} {
		if !lines[want] {
			t.Errorf("animed.service lacks %q", want)
		}
	}
	for l := range lines {
		if strings.HasPrefix(l, "DynamicUser=") && l != "DynamicUser=no" {
			t.Errorf("animed.service: %s: the drop folder needs a fixed group", l)
		}
	}
}

// TestTemplateMatchesService keeps animed@.service's sandbox identical to
// animed.service's: only the instance's paths may differ.
func TestTemplateMatchesService(t *testing.T) {
	svc := unitLines(t, "animed.service")
	tpl := unitLines(t, "animed@.service")
	norm := func(l string) string {
		l = strings.ReplaceAll(l, "/etc/animed/%i.conf", "/etc/animed/animed.conf")
		l = strings.ReplaceAll(l, "/var/lib/animed/%i", "/var/lib/animed")
		l = strings.ReplaceAll(l, "animed/%i", "animed")
		return strings.TrimSuffix(l, " (%i)")
	}
	if len(svc) != len(tpl) {
		t.Fatalf("animed.service has %d settings, animed@.service %d", len(svc), len(tpl))
	}
	for i := range svc {
		if norm(tpl[i]) != svc[i] {
			t.Errorf("setting %d: animed@.service %q, animed.service %q", i+1, tpl[i], svc[i])
		}
	}
}

// TestConfigFolders checks that the example configuration puts the state
// folder in the unit's private StateDirectory= and every other folder in
// the tree tmpfiles.d makes for uploaders.
func TestConfigFolders(t *testing.T) {
	private := map[string]bool{}
	for _, l := range unitLines(t, "animed.service") {
		if v, ok := strings.CutPrefix(l, "StateDirectory="); ok {
			for _, d := range strings.Fields(v) {
				private["/var/lib/"+d] = true
			}
		}
	}
	shared := map[string]bool{}
	for _, e := range tmpfilesEntries(t) {
		shared[e.path] = true
	}
	seen := map[string]bool{}
	for _, l := range unitLines(t, "animed.conf") {
		k, v, ok := strings.Cut(l, "=")
		if !ok {
			t.Errorf("animed.conf: %q is not flag = value", l)
			continue
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		switch k {
		case "state":
			seen[k] = true
			if !private[v] || shared[v] {
				t.Errorf("animed.conf: state = %s is not the private StateDirectory= of animed.service", v)
			}
		case "watch", "out", "done", "failed":
			seen[k] = true
			if !shared[v] {
				t.Errorf("animed.conf: %s = %s is not made by animed.tmpfiles", k, v)
			}
		}
	}
	for _, k := range []string{"watch", "out", "done", "failed", "state"} {
		if !seen[k] {
			t.Errorf("animed.conf does not set %s", k)
		}
	}
}

type tmpfilesEntry struct{ typ, path, mode, user, group string }

func tmpfilesEntries(t *testing.T) []tmpfilesEntry {
	t.Helper()
	var out []tmpfilesEntry
	for _, l := range unitLines(t, "animed.tmpfiles") {
		f := strings.Fields(l)
		if len(f) < 5 {
			t.Fatalf("animed.tmpfiles: %q: want Type Path Mode User Group", l)
		}
		out = append(out, tmpfilesEntry{f[0], f[1], f[2], f[3], f[4]})
	}
	return out
}

// TestUploadersCannotReachState: the parent of the folders uploaders write
// belongs to root and is not group-writable, so an uploader cannot rename
// state/ (or done/, failed/, out/) away and plant their own; state/ itself
// is 0700 and owned by the service user.
func TestUploadersCannotReachState(t *testing.T) {
	modes := map[string]tmpfilesEntry{}
	for _, e := range tmpfilesEntries(t) {
		modes[e.path] = e
	}
	top, ok := modes["/var/lib/animed"]
	if !ok || top.user != "root" || top.mode != "0755" {
		t.Errorf("animed.tmpfiles: /var/lib/animed is %+v, want root-owned 0755", top)
	}
	for p, e := range modes {
		if strings.HasPrefix(p, "/var/lib/animed/state") {
			t.Errorf("animed.tmpfiles makes %s: the state folder is the unit's private StateDirectory=", p)
		}
		if p != "/var/lib/animed" && e.user != "animed" {
			t.Errorf("animed.tmpfiles: %s owned by %s, want animed", p, e.user)
		}
	}
	if _, ok := modes["/var/lib/animed/drop"]; !ok {
		t.Errorf("animed.tmpfiles does not make the drop folder")
	}
	need(t, "systemd-tmpfiles", "systemd-sysusers")
	root := t.TempDir()
	os.Mkdir(filepath.Join(root, "etc"), 0o755)
	abs, _ := filepath.Abs("animed.sysusers")
	if out, err := exec.Command("systemd-sysusers", "--root="+root, abs).CombinedOutput(); err != nil {
		t.Fatalf("systemd-sysusers: %v\n%s", err, out)
	}
	abs, _ = filepath.Abs("animed.tmpfiles")
	out, err := exec.Command("systemd-tmpfiles", "--root="+root, "--create", abs).CombinedOutput()
	if err != nil && os.Geteuid() == 0 {
		t.Fatalf("systemd-tmpfiles: %v\n%s", err, out)
	}
	if err != nil {
		t.Skipf("systemd-tmpfiles needs root to chown: %v\n%s", err, out)
	}
	for p, e := range modes {
		st, err := os.Stat(filepath.Join(root, p))
		if err != nil {
			t.Fatal(err)
		}
		if got := fmt.Sprintf("%04o", uint32(st.Mode().Perm())|setgidBit(st.Mode())); got != e.mode {
			t.Errorf("%s: mode %s, want %s", p, got, e.mode)
		}
	}
}

func setgidBit(m os.FileMode) uint32 {
	if m&os.ModeSetgid != 0 {
		return 0o2000
	}
	return 0
}

// TestSysusers creates the user with systemd-sysusers in a scratch root.
func TestSysusers(t *testing.T) {
	need(t, "systemd-sysusers")
	root := t.TempDir()
	if err := os.Mkdir(filepath.Join(root, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	abs, _ := filepath.Abs("animed.sysusers")
	out, err := exec.Command("systemd-sysusers", "--root="+root, abs).CombinedOutput()
	if err != nil {
		t.Fatalf("systemd-sysusers: %v\n%s", err, out)
	}
	passwd, _ := os.ReadFile(filepath.Join(root, "etc/passwd"))
	group, _ := os.ReadFile(filepath.Join(root, "etc/group"))
	var uid int = -1
	for _, l := range strings.Split(string(passwd), "\n") {
		f := strings.Split(l, ":")
		if len(f) == 7 && f[0] == "animed" {
			uid, _ = strconv.Atoi(f[2])
			if f[5] != "/var/lib/animed" || f[6] != "/usr/sbin/nologin" {
				t.Errorf("passwd %q: want home /var/lib/animed and shell /usr/sbin/nologin", l)
			}
		}
	}
	if uid <= 0 || uid >= 1000 {
		t.Errorf("animed uid %d: want a system uid (passwd:\n%s)", uid, passwd)
	}
	if !strings.Contains(string(group), "animed:x:") {
		t.Errorf("no group animed:\n%s", group)
	}
}

// TestSyscallFilter checks the unit's SystemCallFilter= against what the
// daemon needs (threads, mmap of the model, inotify, statfs, dlopen) and
// what it must not get, with systemd's own group definitions.
func TestSyscallFilter(t *testing.T) {
	need(t, "systemd-analyze")
	allowed := unitSyscallFilter(t, "animed.service")
	for _, name := range []string{
		"clone", "clone3", "futex", "mmap", "mprotect", "munmap", "madvise", // threads, model, dlopen
		"openat", "read", "pread64", "newfstatat", "statfs", "fstatfs", // files, network-share check
		"inotify_init1", "inotify_add_watch", "epoll_pwait", "epoll_ctl", // watching
		"renameat", "renameat2", "unlinkat", "fsync", "fdatasync", "linkat", // durable moves
		"rt_sigaction", "rt_sigprocmask", "tgkill", "sched_getaffinity", "sched_yield",
		"getrandom", "prlimit64", "execve", "wait4", // Go runtime, probe child process
		"socket", "connect", "sendmsg", // sd_notify over AF_UNIX
	} {
		if !allowed[name] {
			t.Errorf("SystemCallFilter= refuses %s, which the daemon needs", name)
		}
	}
	for _, name := range []string{
		"mount", "umount2", "setuid", "setgroups", "chroot", "init_module", "reboot",
		"ptrace", "bpf", "sched_setaffinity", "setrlimit", "setpriority", "settimeofday", "swapon",
	} {
		if allowed[name] {
			t.Errorf("SystemCallFilter= allows %s", name)
		}
	}
}

// TestConfigLoads loads the example configuration with the daemon's own
// parser, so that it names only real flags.
func TestConfigLoads(t *testing.T) {
	var c config.Config
	fs := c.FlagSet()
	err := config.Load(fs, []string{"--config", "animed.conf"}, func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatalf("animed.conf: %v", err)
	}
	if c.Watch != "/var/lib/animed/drop" || c.Out != "/var/lib/animed/out" || c.State != "/var/lib/animed/state" {
		t.Errorf("animed.conf loads as %+v", c)
	}
}
