package systemd

import (
	"bufio"
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	_ "image/png"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The sandbox test reproduces animed.service's restrictions with bubblewrap,
// because these machines (and CI) have no systemd as PID 1. Each row maps a
// setting of the unit to what the test does; TestSandbox first checks that
// the unit still has the setting, so the reproduction cannot drift from it.
var sandboxMapping = []struct {
	directive string
	how       string
}{
	{"ProtectSystem=strict", "--ro-bind / /: the whole tree read-only"},
	{"ReadWritePaths=/var/lib/animed", "--bind of the state tree only (drop, out, done, failed, state)"},
	{"ProtectHome=yes", "--tmpfs over /home and /root"},
	{"PrivateTmp=yes", "--tmpfs over /tmp and /var/tmp"},
	{"PrivateDevices=yes", "--dev /dev: null, zero, random, urandom, tty only"},
	{"PrivateNetwork=yes", "--unshare-net: loopback only"},
	{"RestrictAddressFamilies=AF_UNIX", "strace: no socket() of another family"},
	{"PrivateIPC=yes", "--unshare-ipc"},
	{"ProtectHostname=yes", "--unshare-uts"},
	{"ProtectProc=invisible", "--unshare-pid with its own /proc"},
	{"User=animed", "an unprivileged uid and gid owning only the state tree"},
	{"CapabilityBoundingSet=", "setpriv --bounding-set=-all --inh-caps=-all"},
	{"NoNewPrivileges=yes", "setpriv --no-new-privs"},
	{"UMask=0007", "umask 0007"},
	{"MemoryDenyWriteExecute=yes", "strace: no PROT_WRITE|PROT_EXEC mapping, no mprotect to PROT_EXEC"},
	{"SystemCallFilter=@system-service", "strace: every system call in the filter (systemd-analyze syscall-filter)"},
	{"SystemCallFilter=~@privileged @resources", "strace: ... and not in these groups"},
}

// daemonSource returns the module folder that holds daemon/cmd/animed (this
// repository, or ANIMED_SRC naming another checkout).
func daemonSource(t *testing.T) string {
	t.Helper()
	src := os.Getenv("ANIMED_SRC")
	if src == "" {
		src = ".."
	}
	if _, err := os.Stat(filepath.Join(src, "daemon", "cmd", "animed")); err != nil {
		t.Fatalf("no daemon/cmd/animed in %s (ANIMED_SRC names another checkout): %v", src, err)
	}
	abs, err := filepath.Abs(src)
	if err != nil {
		t.Fatal(err)
	}
	return abs
}

// buildRelease builds the daemon as the package does and lays it out like
// the .deb: usr/bin/animed finding usr/lib/animed/libtensorflowlite_c.so.
func buildRelease(t *testing.T, src, root string) string {
	t.Helper()
	lib := filepath.Join(src, "build", "tflite", "linux_"+runtime.GOARCH, "libtensorflowlite_c.so")
	if _, err := os.Stat(lib); err != nil {
		t.Skipf("%s missing: run make deps-tflite", lib)
	}
	bin := filepath.Join(root, "usr", "bin", "animed")
	cmd := exec.Command("go", "build", "-trimpath", "-tags", "release", "-o", bin,
		"-ldflags", `-extldflags "-Wl,-rpath,$ORIGIN/../lib/animed"`, "./daemon/cmd/animed")
	cmd.Dir = src
	cmd.Env = append(os.Environ(), "CGO_ENABLED=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build daemon: %v\n%s", err, out)
	}
	b, err := os.ReadFile(lib)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(root, "usr", "lib", "animed"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "usr", "lib", "animed", "libtensorflowlite_c.so"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	return bin
}

// testPhoto writes a photo to path: one from ../shared when present (n picks
// which), else a generated picture.
func testPhoto(t *testing.T, n int, path string) {
	t.Helper()
	dir := filepath.Join("..", "..", "shared", "photos", "people")
	if ents, err := os.ReadDir(dir); err == nil && len(ents) > n {
		b, err := os.ReadFile(filepath.Join(dir, ents[n].Name()))
		if err == nil {
			writeAtomic(t, path, b)
			return
		}
	}
	img := image.NewRGBA(image.Rect(0, 0, 400, 300))
	for y := 0; y < 300; y++ {
		for x := 0; x < 400; x++ {
			img.Set(x, y, color.RGBA{uint8(x + n*40), uint8(y), uint8(x ^ y), 255})
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, nil); err != nil {
		t.Fatal(err)
	}
	writeAtomic(t, path, buf.Bytes())
}

// writeAtomic writes under a hidden temporary name, which the daemon
// ignores, and renames: how a careful uploader drops a photo.
func writeAtomic(t *testing.T, path string, b []byte) {
	t.Helper()
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".part")
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// waitFile waits until path exists.
func waitFile(t *testing.T, path string, d time.Duration, exited <-chan struct{}, log func() string) {
	t.Helper()
	end := time.Now().Add(d)
	for time.Now().Before(end) {
		if _, err := os.Stat(path); err == nil {
			return
		}
		select {
		case <-exited:
			t.Fatalf("daemon exited while waiting for %s:\n%s", path, log())
		case <-time.After(100 * time.Millisecond):
		}
	}
	t.Fatalf("no %s after %v:\n%s", path, d, log())
}

// descendant finds the process named comm below pid.
func descendant(pid int, comm string) (int, error) {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return 0, err
	}
	parent := map[int]int{}
	name := map[int]string{}
	for _, e := range ents {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...
		s := string(b)
		open, close := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
		if open < 0 || close < open {
			continue
		}
		f := strings.Fields(s[close+1:])
		if len(f) < 2 {
			continue
		}
		pp, _ := strconv.Atoi(f[1])
		parent[p], name[p] = pp, s[open+1:close]
	}
	for p, n := range name {
		if n != comm {
			continue
		}
		for a := parent[p]; a > 1; a = parent[a] {
			if a == pid {
				return p, nil
			}
		}
	}
	return 0, fmt.Errorf("no %s process below %d", comm, pid)
}

// syncBuffer is a bytes.Buffer safe for a writer goroutine and a reader.
type syncBuffer struct {
	mu  chan struct{}
	buf bytes.Buffer
}

func newSyncBuffer() *syncBuffer { return &syncBuffer{mu: make(chan struct{}, 1)} }
func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu <- struct{}{}
	defer func() { <-b.mu }()
	return b.buf.Write(p)
}
func (b *syncBuffer) String() string {
	b.mu <- struct{}{}
	defer func() { <-b.mu }()
	return b.buf.String()
}

// TestSandbox runs the real daemon inside animed.service's sandbox, rebuilt
// with bubblewrap, on real photos: one there before start (start-up scan),
// one dropped while it runs (inotify), then SIGTERM. It checks the results,
// the sd_notify messages, and, from an strace of the daemon, that the unit's
// system call filter and MemoryDenyWriteExecute= would not get in its way.
func TestSandbox(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: skipping the sandboxed daemon run")
	}
	need(t, "bwrap", "strace", "systemd-analyze")
	unit := map[string]bool{}
	for _, l := range unitLines(t, "animed.service") {
		unit[l] = true
	}
	for _, m := range sandboxMapping {
		if !unit[m.directive] {
			t.Errorf("animed.service lacks %q, which the sandbox reproduction (%s) assumes: update both", m.directive, m.how)
		}
	}
	src := daemonSource(t)
	root := os.Geteuid() == 0
	if root {
		need(t, "setpriv")
	}
	probe := []string{"--ro-bind", "/", "/", "--unshare-net", "--unshare-pid", "--proc", "/proc"}
	if !root {
		probe = append(probe, "--unshare-user")
	}
	if out, err := exec.Command("bwrap", append(probe, "true")...).CombinedOutput(); err != nil {
		t.Skipf("bwrap cannot make namespaces here (%v: %s): skipping", err, bytes.TrimSpace(out))
	}

	// A short top folder: it holds the notify socket (108-byte limit).
	top, err := os.MkdirTemp("", "animed-sbx")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(top) })
	if err := os.Chmod(top, 0o755); err != nil {
		t.Fatal(err)
	}
	bin := buildRelease(t, src, top)

	// The daemon's identity: nobody when the test runs as root (setpriv
	// switches to it), else the test's own uid in a user namespace.
	uid, gid := 65534, 65534
	if !root {
		uid, gid = os.Getuid(), os.Getgid()
	}
	state := filepath.Join(top, "var", "lib", "animed")
	// As animed.tmpfiles and the unit's StateDirectory= make them: the
	// top belongs to root, the uploaders' folders are 2770, state is 0700.
	if err := os.MkdirAll(state, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"drop", "out", "done", "failed", "state"} {
		p := filepath.Join(state, d)
		if err := os.MkdirAll(p, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(p, uid, gid); err != nil && root {
			t.Fatal(err)
		}
		mode := 0o770 | os.ModeSetgid
		if d == "state" {
			mode = 0o700
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range []string{"etc/animed", "run", "trace"} {
		if err := os.MkdirAll(filepath.Join(top, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(filepath.Join(top, "trace"), 0o777); err != nil {
		t.Fatal(err)
	}
	// The packaged example configuration, pointed at the scratch tree.
	conf, err := os.ReadFile("animed.conf")
	if err != nil {
		t.Fatal(err)
	}
	conf = bytes.ReplaceAll(conf, []byte("/var/lib/animed"), []byte(state))
	conf = append(conf, "\n# test: small results, quick inference\nmax-side = 256\n"...)
	confPath := filepath.Join(top, "etc", "animed", "animed.conf")
	if err := os.WriteFile(confPath, conf, 0o644); err != nil {
		t.Fatal(err)
	}

	// systemd's notification socket.
	sock := filepath.Join(top, "run", "notify")
	notify, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer notify.Close()
	if err := os.Chmod(sock, 0o777); err != nil {
		t.Fatal(err)
	}
	messages := &notifications{}
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := notify.Read(buf)
			if err != nil {
				return
			}
			messages.add(strings.Split(string(buf[:n]), "\n")...)
		}
	}()

	testPhoto(t, 0, filepath.Join(state, "drop", "first.jpg"))

	trace := filepath.Join(top, "trace", "strace.out")
	sb := sandbox{top: top, state: state, sock: sock, root: root, uid: uid, gid: gid}
	args := sb.args(fmt.Sprintf("exec strace -f -qq -o %s %s run --config %s", trace, bin, confPath))
	cmd := exec.Command("bwrap", args...)
	log := newSyncBuffer()
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	var waitErr error
	go func() { waitErr = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		select {
		case <-exited:
		default:
			cmd.Process.Kill()
			<-exited
		}
	})

	messages.wait(t, "READY=1", 120*time.Second, log.String)
	waitFile(t, filepath.Join(state, "out", "first.jpg"), 120*time.Second, exited, log.String)
	testPhoto(t, 1, filepath.Join(state, "drop", "second.jpg"))
	waitFile(t, filepath.Join(state, "out", "second.jpg"), 120*time.Second, exited, log.String)
	waitFile(t, filepath.Join(state, "done", "second.jpg"), 30*time.Second, exited, log.String)

	pid, err := descendant(cmd.Process.Pid, "animed")
	if err != nil {
		t.Fatalf("find the daemon: %v", err)
	}
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-exited:
	case <-time.After(60 * time.Second):
		t.Fatalf("daemon did not stop within 60s of SIGTERM:\n%s", log.String())
	}
	if waitErr != nil {
		t.Errorf("sandboxed daemon: %v (want exit 0 after SIGTERM)\n%s", waitErr, log.String())
	}
	messages.wait(t, "STOPPING=1", 5*time.Second, log.String)
	if n := messages.count("WATCHDOG=1"); n == 0 {
		t.Errorf("no watchdog keep-alive (WATCHDOG_USEC=4s) in %d messages: %q", len(messages.all()), messages.all())
	}

	// Results in out/, originals in done/, nothing failed, nothing left.
	for _, name := range []string{"first.jpg", "second.jpg"} {
		checkPicture(t, filepath.Join(state, "out", name), 256)
		if _, err := os.Stat(filepath.Join(state, "done", name)); err != nil {
			t.Errorf("original not in done/: %v", err)
		}
	}
	for dir, want := range map[string]int{"out": 2, "done": 2, "failed": 0} {
		ents, _ := os.ReadDir(filepath.Join(state, dir))
		if len(ents) != want {
			var names []string
			for _, e := range ents {
				names = append(names, e.Name())
			}
			t.Errorf("%s/ holds %v, want %d files", dir, names, want)
		}
	}

	checkTrace(t, trace)

	// The one-shot commands under the same restrictions: the hardware
	// probe (it reads /proc, /sys and /dev) and convert.
	for _, c := range []struct{ name, cmd string }{
		{"probe", bin + " probe"},
		{"convert", fmt.Sprintf("%s convert --max-side 200 %s %s", bin,
			filepath.Join(state, "done", "first.jpg"), filepath.Join(state, "out", "converted.png"))},
	} {
		out, err := exec.Command("bwrap", sb.args("exec "+c.cmd)...).CombinedOutput()
		if err != nil {
			t.Errorf("sandboxed animed %s: %v\n%s", c.name, err, out)
		}
	}
	checkPicture(t, filepath.Join(state, "out", "converted.png"), 200)
}

// sandbox builds bubblewrap command lines that reproduce animed.service's
// restrictions (see sandboxMapping) around a shell command.
type sandbox struct {
	top   string // scratch tree: usr/ (binary, library), etc/, run/, trace/
	state string // the writable state tree
	sock  string // NOTIFY_SOCKET
	root  bool   // the test runs as root: switch to uid/gid with setpriv
	uid   int
	gid   int
}

func (sb sandbox) args(inner string) []string {
	top := sb.top
	args := []string{
		"--ro-bind", "/", "/",
		"--tmpfs", "/tmp", "--tmpfs", "/var/tmp",
		"--tmpfs", "/home", "--tmpfs", "/root",
		// top lives in /tmp: recreate its path in the private /tmp.
		"--perms", "0755", "--dir", top,
		"--perms", "0755", "--dir", filepath.Join(top, "var"),
		"--perms", "0755", "--dir", filepath.Join(top, "var", "lib"),
		"--ro-bind", filepath.Join(top, "usr"), filepath.Join(top, "usr"),
		"--ro-bind", filepath.Join(top, "etc"), filepath.Join(top, "etc"),
		"--ro-bind", filepath.Join(top, "run"), filepath.Join(top, "run"),
		"--bind", sb.state, sb.state,
		"--bind", filepath.Join(top, "trace"), filepath.Join(top, "trace"),
		"--dev", "/dev",
		"--proc", "/proc",
		"--unshare-net", "--unshare-ipc", "--unshare-uts", "--unshare-pid", "--unshare-cgroup-try",
		"--die-with-parent", "--new-session",
		"--clearenv",
		"--setenv", "PATH", "/usr/bin:/bin",
		"--setenv", "NOTIFY_SOCKET", sb.sock,
		"--setenv", "WATCHDOG_USEC", "4000000", // pings every second
	}
	inner = "umask 0007; " + inner
	if sb.root {
		return append(args, "--", "setpriv", "--reuid="+strconv.Itoa(sb.uid), "--regid="+strconv.Itoa(sb.gid),
			"--clear-groups", "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs", "sh", "-c", inner)
	}
	return append(args, "--unshare-user", "--uid", strconv.Itoa(sb.uid), "--gid", strconv.Itoa(sb.gid),
		"--cap-drop", "ALL", "--", "setpriv", "--no-new-privs", "sh", "-c", inner)
}

// notifications records what the daemon sent to NOTIFY_SOCKET.
type notifications struct {
	mu   sync.Mutex
	msgs []string
}

func (n *notifications) add(m ...string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.msgs = append(n.msgs, m...)
}

func (n *notifications) all() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]string(nil), n.msgs...)
}

func (n *notifications) count(want string) int {
	c := 0
	for _, m := range n.all() {
		if m == want {
			c++
		}
	}
	return c
}

// wait waits until want has been received.
func (n *notifications) wait(t *testing.T, want string, d time.Duration, log func() string) {
	t.Helper()
	end := time.Now().Add(d)
	for n.count(want) == 0 {
		if time.Now().After(end) {
			t.Fatalf("no %s on NOTIFY_SOCKET within %v (got %q):\n%s", want, d, n.all(), log())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func checkPicture(t *testing.T, path string, maxSide int) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Error(err)
		return
	}
	defer f.Close()
	cfg, _, err := image.DecodeConfig(f)
	if err != nil {
		t.Errorf("%s: %v", path, err)
		return
	}
	if cfg.Width > maxSide || cfg.Height > maxSide || cfg.Width == 0 {
		t.Errorf("%s: %dx%d, want long side <= %d", path, cfg.Width, cfg.Height, maxSide)
	}
}

var (
	straceCall = regexp.MustCompile(`^\d+\s+([a-z0-9_]+)\((.*)`)
	// what systemd's MemoryDenyWriteExecute= refuses
	wxMap     = regexp.MustCompile(`^(mmap|mmap2)\(.*PROT_WRITE\|PROT_EXEC|^(mmap|mmap2)\(.*PROT_EXEC\|PROT_WRITE`)
	execProt  = regexp.MustCompile(`^(mprotect|pkey_mprotect)\(.*PROT_EXEC`)
	sockCall  = regexp.MustCompile(`^socket\((AF_[A-Z0-9]+)`)
	erofsCall = regexp.MustCompile(`= -1 EROFS`)
)

// checkTrace reads the daemon's strace and fails on what the unit would
// refuse: a system call outside SystemCallFilter=, a writable and executable
// mapping, a socket other than AF_UNIX, or a write outside the state tree.
func checkTrace(t *testing.T, trace string) {
	t.Helper()
	allowed := unitSyscallFilter(t, "animed.service")
	f, err := os.Open(trace)
	if err != nil {
		t.Fatalf("strace output: %v", err)
	}
	defer f.Close()
	used := map[string]int{}
	refused := map[string]bool{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		m := straceCall.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		call := m[1] + "(" + m[2]
		used[m[1]]++
		if !allowed[m[1]] {
			refused[m[1]] = true
		}
		if wxMap.MatchString(call) || execProt.MatchString(call) {
			t.Errorf("MemoryDenyWriteExecute= would refuse: %s", line)
		}
		if s := sockCall.FindStringSubmatch(call); s != nil && s[1] != "AF_UNIX" {
			t.Errorf("RestrictAddressFamilies=AF_UNIX would refuse: %s", line)
		}
		if erofsCall.MatchString(line) {
			t.Errorf("write outside the writable tree: %s", line)
		}
	}
	if len(used) == 0 {
		t.Fatalf("no system calls in %s", trace)
	}
	var names []string
	for n := range used {
		names = append(names, n)
	}
	sort.Strings(names)
	t.Logf("daemon used %d system calls: %s", len(names), strings.Join(names, " "))
	var bad []string
	for n := range refused {
		bad = append(bad, fmt.Sprintf("%s (%d calls)", n, used[n]))
	}
	sort.Strings(bad)
	if len(bad) > 0 {
		t.Errorf("SystemCallFilter= of animed.service would refuse (EPERM): %s", strings.Join(bad, ", "))
	}
}

// unitSyscallFilter computes the set of system calls the unit's
// SystemCallFilter= lines allow, with systemd's own group definitions
// (systemd-analyze syscall-filter): the first allow-list sets the set, later
// allow-lists add to it, ~lists remove from it.
func unitSyscallFilter(t *testing.T, unit string) map[string]bool {
	t.Helper()
	out, err := exec.Command("systemd-analyze", "syscall-filter", "--no-pager").Output()
	if err != nil {
		t.Fatalf("systemd-analyze syscall-filter: %v", err)
	}
	groups := map[string][]string{}
	var cur string
	for _, line := range strings.Split(string(out), "\n") {
		switch {
		case strings.HasPrefix(line, "@"):
			cur = strings.TrimSpace(line)
		case cur != "" && strings.HasPrefix(line, "    ") && !strings.HasPrefix(strings.TrimSpace(line), "#"):
			groups[cur] = append(groups[cur], strings.TrimSpace(line))
		case strings.TrimSpace(line) == "":
			cur = ""
		}
	}
	var expand func(name string, into map[string]bool)
	expand = func(name string, into map[string]bool) {
		if !strings.HasPrefix(name, "@") {
			into[name] = true
			return
		}
		members, ok := groups[name]
		if !ok {
			t.Fatalf("systemd-analyze knows no group %s", name)
		}
		for _, m := range members {
			expand(m, into)
		}
	}
	allowed := map[string]bool{}
	first := true
	for _, l := range unitLines(t, unit) {
		v, ok := strings.CutPrefix(l, "SystemCallFilter=")
		if !ok {
			continue
		}
		deny := strings.HasPrefix(v, "~")
		set := map[string]bool{}
		for _, n := range strings.Fields(strings.TrimPrefix(v, "~")) {
			expand(n, set)
		}
		switch {
		case deny:
			for n := range set {
				delete(allowed, n)
			}
		default:
			for n := range set {
				allowed[n] = true
			}
		}
		if !deny {
			first = false
		}
	}
	if first {
		t.Fatalf("%s has no SystemCallFilter= allow-list", unit)
	}
	return allowed
}
