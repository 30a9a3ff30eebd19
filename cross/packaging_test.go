package cross

// Tests of `make dist` and `make deb` (cross/dist.sh, cross/deb.sh): they
// build the real release tarballs for amd64 and arm64, check that a second
// build is byte-identical, run the packaged binaries (arm64 under
// qemu-aarch64), build the .deb packages, run lintian on them, and install
// the amd64 package into a throw-away root with dpkg --root, then purge it.

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	_ "image/png"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// repoRoot is the repository root, relative to this package.
const repoRoot = ".."

func haveDaemon(t *testing.T) {
	t.Helper()
	if os.Getenv("ANIMED_SRC") != "" {
		return // a stand-in named by the environment (see dist.sh)
	}
	if _, err := os.Stat(filepath.Join(repoRoot, "daemon", "cmd", "animed")); err != nil {
		t.Fatalf("no daemon/cmd/animed under %s: %v", repoRoot, err)
	}
}

func need(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed (make deps-apt): skipping", tool)
		}
	}
}

func run(t *testing.T, dir string, env []string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// versionVars returns VERSION and SOURCE_DATE_EPOCH as version.sh computes them.
func versionVars(t *testing.T) (version string, epoch int64) {
	t.Helper()
	for _, line := range strings.Split(run(t, repoRoot, nil, "bash", "cross/version.sh"), "\n") {
		k, v, _ := strings.Cut(line, "=")
		switch k {
		case "VERSION":
			version = v
		case "SOURCE_DATE_EPOCH":
			var err error
			if epoch, err = strconv.ParseInt(v, 10, 64); err != nil {
				t.Fatalf("version.sh: SOURCE_DATE_EPOCH=%q", v)
			}
		}
	}
	if version == "" {
		t.Fatal("version.sh printed no VERSION")
	}
	return version, epoch
}

// photo returns a JPEG to convert: a real photo from ../shared when present,
// else a generated one.
func photo(t *testing.T) string {
	t.Helper()
	real := filepath.Join(repoRoot, "..", "shared", "photos", "people", "bryandlee-1.jpg")
	if _, err := os.Stat(real); err == nil {
		abs, _ := filepath.Abs(real)
		return abs
	}
	t.Log("../shared is absent: converting a generated picture instead of a photo")
	img := image.NewRGBA(image.Rect(0, 0, 320, 240))
	for y := 0; y < 240; y++ {
		for x := 0; x < 320; x++ {
			img.Set(x, y, color.RGBA{uint8(x * 255 / 320), uint8(y * 255 / 240), uint8((x + y) % 256), 255})
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, nil); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "generated.jpg")
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// checkResult checks that path holds a decodable picture whose long side is
// at most maxSide.
func checkResult(t *testing.T, path string, maxSide int) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("result: %v", err)
	}
	defer f.Close()
	cfg, format, err := image.DecodeConfig(f)
	if err != nil {
		t.Fatalf("result %s: %v", path, err)
	}
	if cfg.Width > maxSide || cfg.Height > maxSide || cfg.Width == 0 || cfg.Height == 0 {
		t.Errorf("result %s: %s %dx%d, want long side <= %d", path, format, cfg.Width, cfg.Height, maxSide)
	}
}

func sha(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%x", sha256.Sum256(b))
}

// tarEntry is one member of a release tarball.
type tarEntry struct {
	mode  int64
	uid   int
	gid   int
	mtime int64
}

func readTar(t *testing.T, path string) (names []string, entries map[string]tarEntry) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if !zr.ModTime.IsZero() || zr.Name != "" {
		t.Errorf("%s: gzip header carries a name or time (want gzip -n)", path)
	}
	tr := tar.NewReader(zr)
	entries = map[string]tarEntry{}
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		names = append(names, h.Name)
		entries[h.Name] = tarEntry{h.Mode, h.Uid, h.Gid, h.ModTime.Unix()}
	}
	return names, entries
}

func extract(t *testing.T, tarball, dir string) {
	t.Helper()
	run(t, "", nil, "tar", "-xzf", tarball, "-C", dir)
}

// TestPackages builds the release tarballs and the .deb packages once and
// checks them in subtests.
func TestPackages(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: skipping the release build")
	}
	haveDaemon(t)
	need(t, "tar", "gzip", "readelf")
	lib := filepath.Join(repoRoot, "build", "tflite", "linux_amd64", "libtensorflowlite_c.so")
	if _, err := os.Stat(lib); err != nil {
		t.Skip("build/tflite is missing: run make deps-tflite")
	}
	arches := []string{"amd64"}
	if _, err := exec.LookPath("aarch64-linux-gnu-gcc"); err == nil {
		arches = append(arches, "arm64")
	} else {
		t.Log("aarch64-linux-gnu-gcc missing: arm64 not built (make deps-apt)")
	}
	version, epoch := versionVars(t)
	out := t.TempDir()
	run(t, repoRoot, nil, "bash", append([]string{"cross/dist.sh", "-o", out}, arches...)...)
	tarball := func(dir, arch string) string {
		return filepath.Join(dir, fmt.Sprintf("animed_%s_linux_%s.tar.gz", version, arch))
	}
	pic := photo(t)

	t.Run("reproducible", func(t *testing.T) {
		// A second build from a copy of the sources in another folder,
		// under another umask, must give the same bytes.
		src := copyCheckout(t)
		out2 := t.TempDir()
		old := syscall.Umask(0o077)
		defer syscall.Umask(old)
		env := []string{"VERSION=" + version, "SOURCE_DATE_EPOCH=" + strconv.FormatInt(epoch, 10)}
		run(t, src, env, "bash", append([]string{"cross/dist.sh", "-o", out2}, arches...)...)
		for _, arch := range arches {
			if a, b := sha(t, tarball(out, arch)), sha(t, tarball(out2, arch)); a != b {
				t.Errorf("%s: two builds differ: %s vs %s", arch, a, b)
			}
		}
	})

	for _, arch := range arches {
		t.Run("tarball-"+arch, func(t *testing.T) {
			names, entries := readTar(t, tarball(out, arch))
			if !sort.StringsAreSorted(names) {
				t.Errorf("members not sorted: %v", names)
			}
			top := fmt.Sprintf("animed_%s_linux_%s/", version, arch)
			want := map[string]int64{
				"animed":                                  0o755,
				"lib/libtensorflowlite_c.so":              0o644,
				"animed.conf":                             0o644,
				"README.md":                               0o644,
				"systemd/animed.service":                  0o644,
				"systemd/animed@.service":                 0o644,
				"systemd/sysusers-animed.conf":            0o644,
				"systemd/examples/metrics.conf":           0o644,
				"systemd/examples/edgetpu-pcie.conf":      0o644,
				"systemd/examples/edgetpu-usb.conf":       0o644,
				"systemd/examples/gpu.conf":               0o644,
				"LICENSES/tensorflow-lite-Apache-2.0.txt": 0o644,
				"LICENSES/MODEL-LICENSE.txt":              0o644,
				"LICENSES/THIRD_PARTY.md":                 0o644,
				"LICENSES/go/golang.org/go/LICENSE":       0o644,
			}
			for name, mode := range want {
				e, ok := entries[top+name]
				if !ok {
					t.Errorf("missing %s", top+name)
					continue
				}
				if e.mode != mode {
					t.Errorf("%s: mode %o, want %o", name, e.mode, mode)
				}
			}
			for name, e := range entries {
				if !strings.HasPrefix(name, top) {
					t.Errorf("%s: outside %s", name, top)
				}
				if e.uid != 0 || e.gid != 0 {
					t.Errorf("%s: owner %d:%d, want 0:0", name, e.uid, e.gid)
				}
				if e.mtime != epoch {
					t.Errorf("%s: mtime %d, want SOURCE_DATE_EPOCH %d", name, e.mtime, epoch)
				}
			}
		})
	}

	t.Run("run-amd64", func(t *testing.T) {
		if runtime.GOARCH != "amd64" {
			t.Skip("not an amd64 machine")
		}
		dir := t.TempDir()
		extract(t, tarball(out, "amd64"), dir)
		bin := filepath.Join(dir, fmt.Sprintf("animed_%s_linux_amd64", version), "animed")
		runPackaged(t, nil, bin, version, pic)
	})

	t.Run("run-arm64-qemu", func(t *testing.T) {
		if len(arches) < 2 {
			t.Skip("arm64 not built")
		}
		need(t, "qemu-aarch64")
		sysroot := "/usr/aarch64-linux-gnu"
		if _, err := os.Stat(filepath.Join(sysroot, "lib", "ld-linux-aarch64.so.1")); err != nil {
			t.Skipf("%s has no arm64 loader (apt-get install libc6-dev-arm64-cross)", sysroot)
		}
		need(t, crossCC)
		needWorkingQemu(t, sysroot)
		dir := t.TempDir()
		extract(t, tarball(out, "arm64"), dir)
		bin := filepath.Join(dir, fmt.Sprintf("animed_%s_linux_arm64", version), "animed")
		runPackaged(t, []string{"qemu-aarch64", "-L", sysroot}, bin, version, pic)
	})

	need(t, "dpkg-deb")
	run(t, repoRoot, nil, "bash", append([]string{"cross/deb.sh", "-o", out}, arches...)...)
	deb := func(arch string) string {
		return filepath.Join(out, fmt.Sprintf("animed_%s_%s.deb", version, arch))
	}

	for _, arch := range arches {
		t.Run("deb-"+arch, func(t *testing.T) {
			checkDebContents(t, deb(arch), arch, version)
		})
	}

	t.Run("lintian", func(t *testing.T) {
		need(t, "lintian")
		var debs []string
		for _, arch := range arches {
			debs = append(debs, deb(arch))
		}
		cmd := exec.Command("lintian", append([]string{"--fail-on", "error,warning"}, debs...)...)
		b, err := cmd.CombinedOutput()
		var tags []string
		for _, line := range strings.Split(string(b), "\n") {
			if len(line) > 2 && line[1] == ':' && line[2] == ' ' {
				tags = append(tags, line)
			}
		}
		if err != nil || len(tags) > 0 {
			t.Errorf("lintian: %v\n%s", err, b)
		}
	})

	t.Run("install-amd64", func(t *testing.T) {
		if runtime.GOARCH != "amd64" {
			t.Skip("not an amd64 machine")
		}
		need(t, "dpkg", "systemd-sysusers", "deb-systemd-helper")
		if os.Geteuid() != 0 {
			t.Skip("dpkg --root needs root to set owners: run the tests as root (CI does)")
		}
		installAndPurge(t, deb("amd64"), version, pic)
	})
}

// copyCheckout copies the files git knows (tracked, and untracked but not
// ignored) to a new folder, with build/ linked to this checkout's.
func copyCheckout(t *testing.T) string {
	t.Helper()
	need(t, "git")
	dst := filepath.Join(t.TempDir(), "elsewhere")
	list := run(t, repoRoot, nil, "git", "ls-files", "-z", "--cached", "--others", "--exclude-standard")
	for _, name := range strings.Split(list, "\x00") {
		if name == "" {
			continue
		}
		from := filepath.Join(repoRoot, name)
		st, err := os.Lstat(from)
		if err != nil || !st.Mode().IsRegular() {
			continue // deleted in the work tree, or a link
		}
		b, err := os.ReadFile(from)
		if err != nil {
			t.Fatal(err)
		}
		to := filepath.Join(dst, name)
		if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(to, b, st.Mode().Perm()); err != nil {
			t.Fatal(err)
		}
	}
	build, err := filepath.Abs(filepath.Join(repoRoot, "build"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(build, filepath.Join(dst, "build")); err != nil {
		t.Fatal(err)
	}
	return dst
}

// runPackaged runs `animed version` and `animed convert` from an unpacked
// tarball, through prefix (an emulator) when given.
func runPackaged(t *testing.T, prefix []string, bin, version, pic string) {
	t.Helper()
	argv := func(args ...string) (string, []string) {
		all := append(append(append([]string{}, prefix...), bin), args...)
		return all[0], all[1:]
	}
	name, args := argv("version")
	if out := run(t, "", nil, name, args...); !strings.Contains(out, version) {
		t.Errorf("animed version = %q, want it to name %s", out, version)
	}
	res := filepath.Join(t.TempDir(), "result.jpg")
	name, args = argv("convert", "--max-side", "256", pic, res)
	run(t, "", nil, name, args...)
	checkResult(t, res, 256)
}

// debFile is one file of a .deb as dpkg-deb -c lists it.
type debFile struct{ perm, owner string }

func checkDebContents(t *testing.T, deb, arch, version string) {
	t.Helper()
	files := map[string]debFile{}
	for _, line := range strings.Split(run(t, "", nil, "dpkg-deb", "-c", deb), "\n") {
		f := strings.Fields(line)
		if len(f) < 6 {
			continue
		}
		files[strings.TrimPrefix(f[5], ".")] = debFile{f[0], f[1]}
	}
	want := map[string]string{
		"/usr/bin/animed":                        "-rwxr-xr-x",
		"/usr/lib/animed/libtensorflowlite_c.so": "-rw-r--r--",
		"/lib/systemd/system/animed.service":     "-rw-r--r--",
		"/lib/systemd/system/animed@.service":    "-rw-r--r--",
		"/usr/lib/sysusers.d/animed.conf":        "-rw-r--r--",
		"/usr/lib/tmpfiles.d/animed.conf":        "-rw-r--r--",
		"/etc/animed/animed.conf":                "-rw-r--r--",
		"/usr/share/doc/animed/copyright":        "-rw-r--r--",
		"/usr/share/doc/animed/changelog.gz":     "-rw-r--r--",
		"/usr/share/man/man1/animed.1.gz":        "-rw-r--r--",
	}
	for path, perm := range want {
		f, ok := files[path]
		if !ok {
			t.Errorf("%s: missing %s", filepath.Base(deb), path)
			continue
		}
		if f.perm != perm || f.owner != "root/root" {
			t.Errorf("%s: %s %s, want %s root/root", path, f.perm, f.owner, perm)
		}
	}
	field := func(name string) string {
		return strings.TrimSpace(run(t, "", nil, "dpkg-deb", "-f", deb, name))
	}
	if got := field("Architecture"); got != arch {
		t.Errorf("Architecture: %s, want %s", got, arch)
	}
	if got := field("Version"); got != version {
		t.Errorf("Version: %s, want %s", got, version)
	}
	if got := field("Depends"); !strings.Contains(got, "libc6 (>= 2.") {
		t.Errorf("Depends: %q, want a versioned libc6", got)
	}
	ctl := t.TempDir()
	run(t, "", nil, "dpkg-deb", "-e", deb, ctl)
	if b, _ := os.ReadFile(filepath.Join(ctl, "conffiles")); string(b) != "/etc/animed/animed.conf\n" {
		t.Errorf("conffiles = %q", b)
	}
	for _, s := range []string{"postinst", "prerm", "postrm"} {
		run(t, "", nil, "sh", "-n", filepath.Join(ctl, s))
	}
}

// installAndPurge installs the package into an empty root with dpkg --root,
// running the maintainer scripts outside a chroot with DPKG_ROOT set (the
// root has no shell), checks the result, runs the installed binary, then
// purges the package.
func installAndPurge(t *testing.T, deb, version, pic string) {
	root := t.TempDir()
	for _, d := range []string{"var/lib/dpkg/info", "var/lib/dpkg/updates", "var/lib/dpkg/triggers", "etc"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"var/lib/dpkg/status", "var/lib/dpkg/available"} {
		if err := os.WriteFile(filepath.Join(root, f), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	dpkg := func(args ...string) string {
		return run(t, "", []string{"DPKG_ROOT=" + root}, "dpkg", append([]string{
			"--root=" + root, "--log=" + filepath.Join(root, "dpkg.log"),
			"--force-script-chrootless", "--force-depends"}, args...)...)
	}
	dpkg("-i", deb)

	// The system user, from sysusers.d.
	passwd, _ := os.ReadFile(filepath.Join(root, "etc", "passwd"))
	var uid, gid int = -1, -1
	for _, line := range strings.Split(string(passwd), "\n") {
		f := strings.Split(line, ":")
		if len(f) == 7 && f[0] == "animed" {
			uid, _ = strconv.Atoi(f[2])
			gid, _ = strconv.Atoi(f[3])
			if f[5] != "/var/lib/animed" || f[6] != "/usr/sbin/nologin" {
				t.Errorf("passwd entry %q: want home /var/lib/animed, shell nologin", line)
			}
			if uid >= 1000 || uid <= 0 {
				t.Errorf("animed uid %d is not a system uid", uid)
			}
		}
	}
	if uid < 0 {
		t.Fatalf("no animed user in %s/etc/passwd:\n%s", root, passwd)
	}

	// Files and their modes.
	wantFiles := map[string]fs.FileMode{
		"usr/bin/animed":                        0o755,
		"usr/lib/animed/libtensorflowlite_c.so": 0o644,
		"lib/systemd/system/animed.service":     0o644,
		"etc/animed/animed.conf":                0o644,
		"usr/lib/sysusers.d/animed.conf":        0o644,
		"usr/lib/tmpfiles.d/animed.conf":        0o644,
	}
	for p, mode := range wantFiles {
		st, err := os.Stat(filepath.Join(root, p))
		if err != nil {
			t.Errorf("installed: %v", err)
			continue
		}
		if st.Mode().Perm() != mode || st.Sys().(*syscall.Stat_t).Uid != 0 {
			t.Errorf("%s: mode %v owner %d, want %v root", p, st.Mode(), st.Sys().(*syscall.Stat_t).Uid, mode)
		}
	}
	// The folders: the top belongs to root and is not group-writable, so
	// no uploader can rename what is in it; the uploaders' folders are
	// animed:animed, setgid, group-writable, closed to others; state is
	// private to animed.
	for _, d := range []struct {
		name     string
		mode     fs.FileMode
		uid, gid int
	}{
		{"", 0o755, 0, 0},
		{"drop", 0o770 | fs.ModeSetgid, uid, gid},
		{"out", 0o770 | fs.ModeSetgid, uid, gid},
		{"done", 0o770 | fs.ModeSetgid, uid, gid},
		{"failed", 0o770 | fs.ModeSetgid, uid, gid},
		{"state", 0o700, uid, gid},
	} {
		p := filepath.Join(root, "var", "lib", "animed", d.name)
		st, err := os.Stat(p)
		if err != nil {
			t.Errorf("folder: %v", err)
			continue
		}
		sys := st.Sys().(*syscall.Stat_t)
		if !st.IsDir() || st.Mode()&(fs.ModePerm|fs.ModeSetgid) != d.mode || int(sys.Uid) != d.uid || int(sys.Gid) != d.gid {
			t.Errorf("%s: %v %d:%d, want %v %d:%d", p, st.Mode(), sys.Uid, sys.Gid, d.mode, d.uid, d.gid)
		}
	}
	// Enabled like deb-systemd-helper does it.
	link := filepath.Join(root, "etc", "systemd", "system", "multi-user.target.wants", "animed.service")
	if target, err := os.Readlink(link); err != nil || target != "/lib/systemd/system/animed.service" {
		t.Errorf("enable symlink %s -> %q, %v", link, target, err)
	}
	if st := run(t, "", nil, "dpkg-query", "--admindir="+filepath.Join(root, "var/lib/dpkg"), "-W", "-f=${Status} ${Conffiles}", "animed"); !strings.HasPrefix(st, "install ok installed") || !strings.Contains(st, "/etc/animed/animed.conf") {
		t.Errorf("dpkg status: %q", st)
	}

	// The installed binary finds its library through $ORIGIN/../lib/animed.
	runPackaged(t, nil, filepath.Join(root, "usr", "bin", "animed"), version, pic)

	// Purge: files, conffile and enablement go; a photo in out/ stays.
	keep := filepath.Join(root, "var", "lib", "animed", "out", "keep.jpg")
	if err := os.WriteFile(keep, []byte("photo"), 0o644); err != nil {
		t.Fatal(err)
	}
	dpkg("--purge", "animed")
	for _, p := range []string{"usr/bin/animed", "usr/lib/animed", "etc/animed", "lib/systemd/system/animed.service",
		"var/lib/animed/state", "var/lib/animed/drop", "etc/systemd/system/multi-user.target.wants/animed.service"} {
		if _, err := os.Lstat(filepath.Join(root, p)); err == nil {
			t.Errorf("after purge %s still exists", p)
		}
	}
	if _, err := os.Stat(keep); err != nil {
		t.Errorf("purge deleted a photo: %v", err)
	}
}
