package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/animed/animed/internal/durable"
	"github.com/animed/animed/internal/imageio"
)

// binary is the animed binary built once for all tests of this package.
var built struct {
	once sync.Once
	path string
	err  error
	out  []byte
}

// buildAnimed builds the real binary (once per test run).
func buildAnimed(t *testing.T) string {
	t.Helper()
	built.once.Do(func() {
		dir, err := os.MkdirTemp("", "animed-bin-")
		if err != nil {
			built.err = err
			return
		}
		built.path = filepath.Join(dir, "animed")
		built.out, built.err = exec.Command("go", "build", "-o", built.path, ".").CombinedOutput()
	})
	if built.err != nil {
		t.Fatalf("go build: %v\n%s", built.err, built.out)
	}
	return built.path
}

func TestMain(m *testing.M) {
	// Daemons started without --state keep their journal in the default
	// state folder: a scratch one, not the user's.
	xdg, err := os.MkdirTemp("", "animed-state-")
	if err != nil {
		panic(err)
	}
	os.Setenv("XDG_STATE_HOME", xdg)
	os.Unsetenv("STATE_DIRECTORY")
	code := m.Run()
	os.RemoveAll(xdg)
	if built.path != "" {
		os.RemoveAll(filepath.Dir(built.path))
	}
	os.Exit(code)
}

// testPhoto encodes a small generated photo; orientation > 1 adds an EXIF
// orientation tag (JPEG only).
func testPhoto(r *rand.Rand, w, h int, format string, orientation uint16) []byte {
	m := image.NewNRGBA(image.Rect(0, 0, w, h))
	c1 := color.NRGBA{uint8(r.Intn(256)), uint8(r.Intn(256)), uint8(r.Intn(256)), 255}
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			m.SetNRGBA(x, y, color.NRGBA{c1.R + uint8(x), c1.G + uint8(y), c1.B + uint8(x*y/16), 255})
		}
	}
	var b bytes.Buffer
	if format == "png" {
		png.Encode(&b, m)
		return b.Bytes()
	}
	jpeg.Encode(&b, m, &jpeg.Options{Quality: 85})
	j := b.Bytes()
	if orientation <= 1 {
		return j
	}
	tiff := []byte("II*\x00\x08\x00\x00\x00\x01\x00")
	tiff = binary.LittleEndian.AppendUint16(tiff, 0x0112)
	tiff = binary.LittleEndian.AppendUint16(tiff, 3)
	tiff = binary.LittleEndian.AppendUint32(tiff, 1)
	tiff = binary.LittleEndian.AppendUint16(tiff, orientation)
	tiff = append(tiff, 0, 0, 0, 0, 0, 0)
	payload := append([]byte("Exif\x00\x00"), tiff...)
	seg := binary.BigEndian.AppendUint16([]byte{0xFF, 0xE1}, uint16(len(payload)+2))
	out := append(append(append([]byte{}, j[:2]...), seg...), payload...)
	return append(out, j[2:]...)
}

type goodPhoto struct {
	name      string
	data      []byte
	wantW     int
	wantH     int
	slow      bool // written in chunks
	whileDown bool // copied in while the daemon is not running
}

type daemonProc struct {
	cmd      *exec.Cmd
	log      *os.File
	logStart int64 // the shared log's size when this daemon started
}

// waitServing waits until this daemon logged "model loaded" (its signal
// handlers are in place long before): a SIGTERM that reaches a process
// still starting up finds Go's default action, not animed's.
func (d *daemonProc) waitServing(t *testing.T) {
	t.Helper()
	for i := 0; ; i++ {
		b, err := os.ReadFile(d.log.Name())
		if err == nil && int64(len(b)) > d.logStart && bytes.Contains(b[d.logStart:], []byte("model loaded")) {
			return
		}
		if i == 600 {
			t.Fatalf("the daemon did not log \"model loaded\" within a minute")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func startDaemon(t *testing.T, bin string, args []string, logPath string) *daemonProc {
	t.Helper()
	lf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	st, err := lf.Stat()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, append([]string{"run"}, args...)...)
	cmd.Stdout, cmd.Stderr = lf, lf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return &daemonProc{cmd: cmd, log: lf, logStart: st.Size()}
}

func (d *daemonProc) kill(t *testing.T) {
	d.cmd.Process.Signal(syscall.SIGKILL)
	d.cmd.Wait()
	d.log.Close()
}

// TestEndToEndCrashes drops a few hundred photos and hostile files into a
// running daemon, kills it with SIGKILL at random moments, restarts it, and
// checks that every photo came out exactly once with nothing left behind.
func TestEndToEndCrashes(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test: skipped in -short mode")
	}
	bin := buildAnimed(t)
	root := t.TempDir()
	drop, out := filepath.Join(root, "drop"), filepath.Join(root, "out")
	os.MkdirAll(drop, 0o755)
	logPath := filepath.Join(root, "animed.log")
	t.Cleanup(func() {
		if t.Failed() {
			if b, err := os.ReadFile(logPath); err == nil {
				t.Logf("daemon log (last 6000 bytes):\n%s", b[max(0, len(b)-6000):])
			}
		}
	})
	state := filepath.Join(root, "state") // never inside the drop folder
	args := []string{"--watch", drop, "--out", out, "--state", state, "--settle", "250ms", "--grace", "2s",
		"--threads", "1", "--max-side", "128"}

	// The seed picks the photos, their sizes and the moments of the kills
	// (those moments also depend on the machine's speed).
	seed := time.Now().UnixNano()
	if s := os.Getenv("ANIMED_E2E_SEED"); s != "" {
		var err error
		if seed, err = strconv.ParseInt(s, 10, 64); err != nil {
			t.Fatalf("ANIMED_E2E_SEED=%q: %v", s, err)
		}
	}
	t.Logf("seed %d (ANIMED_E2E_SEED=%d replays it)", seed, seed)
	r := rand.New(rand.NewSource(seed))

	// Good photos: JPEG and PNG, some rotated by EXIF, some larger than
	// --max-side, some written slowly, some copied in while it is down.
	var photos []goodPhoto
	for i := 0; i < 240; i++ {
		w, h := 64+r.Intn(65), 64+r.Intn(65)
		p := goodPhoto{name: fmt.Sprintf("photo-%03d.jpg", i), wantW: w, wantH: h}
		switch {
		case i%10 == 3:
			p.name = fmt.Sprintf("photo-%03d.png", i)
			p.data = testPhoto(r, w, h, "png", 1)
		case i%10 == 5:
			p.data = testPhoto(r, w, h, "jpeg", 6) // stored sideways
			p.wantW, p.wantH = h, w
		case i%10 == 7:
			p.data = testPhoto(r, 192, 96, "jpeg", 1) // scaled to 128 px
			p.wantW, p.wantH = 128, 64
		default:
			p.data = testPhoto(r, w, h, "jpeg", 1)
		}
		p.slow = i%8 == 1
		p.whileDown = i%6 == 2
		photos = append(photos, p)
	}
	// A photo already in out/ by the same name: the result takes a suffix.
	os.MkdirAll(out, 0o755)
	os.WriteFile(filepath.Join(out, "photo-000.jpg"), []byte("someone else's file"), 0o644)

	// Hostile files.
	good := testPhoto(r, 80, 80, "jpeg", 1)
	outside := filepath.Join(root, "outside.jpg")
	os.WriteFile(outside, good, 0o644)
	// A valid PNG header declaring 100000x100000 pixels, and nothing else.
	ihdr := binary.BigEndian.AppendUint32([]byte("IHDR"), 100000)
	ihdr = binary.BigEndian.AppendUint32(ihdr, 100000)
	ihdr = append(ihdr, 8, 2, 0, 0, 0)
	bomb := binary.BigEndian.AppendUint32([]byte("\x89PNG\r\n\x1a\n"), 13)
	bomb = binary.BigEndian.AppendUint32(append(bomb, ihdr...), crc32.ChecksumIEEE(ihdr))
	reasons := map[string]string{
		"zero.jpg":      "empty file",
		"truncated.jpg": "decode jpeg|read header", // depends on where the cut falls
		"text.jpg":      "not a JPEG, PNG, WebP, GIF, HEIF or AVIF image",
		"bomb.png":      "too many pixels",
		"link.jpg":      "symbolic link",
		"fifo.jpg":      "FIFO",
	}
	hostile := map[string]func(path string) error{
		"zero.jpg":      func(p string) error { return os.WriteFile(p, nil, 0o644) },
		"truncated.jpg": func(p string) error { return os.WriteFile(p, good[:len(good)/2], 0o644) },
		"text.jpg":      func(p string) error { return os.WriteFile(p, []byte("this is not a photo\n"), 0o644) },
		"bomb.png":      func(p string) error { return os.WriteFile(p, bomb, 0o644) },
		"link.jpg":      func(p string) error { return os.Symlink(outside, p) },
		"fifo.jpg":      func(p string) error { return syscall.Mkfifo(p, 0o644) },
	}
	// Names the daemon must never take.
	ignored := []string{".hidden.jpg", "upload.jpg.part", "copy.jpg.tmp", "~lock.jpg", "x.jpg.filepart"}

	// Some photos are there before the first start.
	write := func(p goodPhoto) {
		path := filepath.Join(drop, p.name)
		if !p.slow {
			if err := os.WriteFile(path, p.data, 0o644); err != nil {
				t.Error(err)
			}
			return
		}
		f, err := os.Create(path)
		if err != nil {
			t.Error(err)
			return
		}
		for i := 0; i < len(p.data); i += len(p.data)/4 + 1 {
			f.Write(p.data[i:min(len(p.data), i+len(p.data)/4+1)])
			time.Sleep(40 * time.Millisecond)
		}
		f.Close()
	}
	for _, p := range photos[:30] {
		write(p)
	}
	for name, mk := range hostile {
		if err := mk(filepath.Join(drop, name)); err != nil {
			t.Fatal(err)
		}
	}
	for _, n := range ignored {
		os.WriteFile(filepath.Join(drop, n), good, 0o644)
	}

	d := startDaemon(t, bin, args, logPath)
	kills := 0
	rest := photos[30:]
	nextKill := time.Now().Add(time.Duration(300+r.Intn(1200)) * time.Millisecond)
	for len(rest) > 0 {
		p := rest[0]
		rest = rest[1:]
		if p.whileDown && d != nil {
			// Kill now if a kill is due, then drop while it is down.
			if time.Now().After(nextKill) && kills < 6 {
				d.kill(t)
				kills++
				d = nil
			}
		}
		write(p)
		if d == nil && !p.whileDown {
			d = startDaemon(t, bin, args, logPath)
			nextKill = time.Now().Add(time.Duration(300+r.Intn(1200)) * time.Millisecond)
		}
		if d != nil && time.Now().After(nextKill) && kills < 6 {
			d.kill(t)
			kills++
			d = startDaemon(t, bin, args, logPath)
			nextKill = time.Now().Add(time.Duration(300+r.Intn(1200)) * time.Millisecond)
		}
		time.Sleep(time.Duration(r.Intn(15)) * time.Millisecond)
	}
	if d == nil {
		d = startDaemon(t, bin, args, logPath)
	}
	// A few more kills while it works through the backlog.
	for kills < 6 {
		time.Sleep(time.Duration(200+r.Intn(800)) * time.Millisecond)
		d.kill(t)
		kills++
		d = startDaemon(t, bin, args, logPath)
	}
	t.Logf("killed the daemon %d times", kills)
	defer func() {
		b, _ := os.ReadFile(logPath)
		t.Logf("restarts found %d interrupted photos and %d temporary files",
			bytes.Count(b, []byte("interrupted by a restart")), bytes.Count(b, []byte("removed a temporary file")))
	}()

	// Wait until the drop folder holds only ignored names and folders.
	deadline := time.Now().Add(90 * time.Second)
	for {
		left := inputsLeft(t, drop, state, ignored)
		if len(left) == 0 {
			break
		}
		if time.Now().After(deadline) {
			d.kill(t)
			t.Fatalf("still in the drop folder after 90s: %v", left)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// A clean stop exits 0.
	d.waitServing(t)
	d.cmd.Process.Signal(syscall.SIGTERM)
	if err := d.cmd.Wait(); err != nil {
		t.Errorf("SIGTERM: daemon exited with %v, want 0", err)
	}
	d.log.Close()

	// Every good photo: exactly one result, the original in done/.
	done := filepath.Join(drop, "done")
	results := listFiles(t, out)
	for _, p := range photos {
		base := strings.TrimSuffix(p.name, filepath.Ext(p.name))
		want := base + ".jpg"
		if p.name == "photo-000.jpg" {
			want = "photo-000-1.jpg"
		}
		data, err := os.ReadFile(filepath.Join(out, want))
		if err != nil {
			t.Errorf("%s: no result %s: %v", p.name, want, err)
			continue
		}
		delete(results, want)
		res, err := imageio.Decode(data, imageio.DecodeOptions{})
		if err != nil {
			t.Errorf("%s: result does not decode: %v", p.name, err)
			continue
		}
		if b := res.RGB.Bounds(); b.Dx() != p.wantW || b.Dy() != p.wantH {
			t.Errorf("%s: result is %dx%d, want %dx%d", p.name, b.Dx(), b.Dy(), p.wantW, p.wantH)
		}
		if c := imageio.Comment(data); !strings.HasPrefix(c, "generated by animed, model ") {
			t.Errorf("%s: result comment %q", p.name, c)
		}
		orig, err := os.ReadFile(filepath.Join(done, p.name))
		if err != nil {
			t.Errorf("%s: original not in done/: %v", p.name, err)
		} else if sha256.Sum256(orig) != sha256.Sum256(p.data) {
			t.Errorf("%s: original in done/ differs from what was dropped", p.name)
		}
	}
	delete(results, "photo-000.jpg") // the file that was there before
	if len(results) > 0 {
		t.Errorf("unexpected files in out/ (duplicates or partial results): %v", keys(results))
	}
	if n := len(listFiles(t, done)); n != len(photos) {
		t.Errorf("done/ holds %d files, want %d", n, len(photos))
	}

	// Every hostile file in failed/ with a reason; nothing else there.
	failed := filepath.Join(drop, "failed")
	fl := listFiles(t, failed)
	for name := range hostile {
		if _, err := os.Lstat(filepath.Join(failed, name)); err != nil {
			t.Errorf("%s: not in failed/: %v", name, err)
		}
		reason, err := os.ReadFile(filepath.Join(failed, name+".error.txt"))
		if err != nil || !containsAny(reason, strings.Split(reasons[name], "|")) {
			t.Errorf("%s: reason in failed/ is %q (%v), want it to say %q", name, reason, err, reasons[name])
		}
		delete(fl, name)
		delete(fl, name+".error.txt")
	}
	if len(fl) > 0 {
		t.Errorf("unexpected files in failed/: %v", keys(fl))
	}
	if fi, err := os.Lstat(filepath.Join(failed, "link.jpg")); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("link.jpg in failed/ is not the symlink itself")
	}
	if b, _ := os.ReadFile(outside); !bytes.Equal(b, good) {
		t.Errorf("the file outside the drop folder was changed")
	}
	// Ignored names stay where they are, untouched.
	for _, n := range ignored {
		if _, err := os.Stat(filepath.Join(drop, n)); err != nil {
			t.Errorf("ignored file %s was taken: %v", n, err)
		}
	}
	// No temporary or partial files, no open claims.
	for _, dir := range []string{out, done, failed, state} {
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if strings.HasPrefix(e.Name(), durable.TempPrefix) || strings.HasSuffix(e.Name(), ".claim") {
				t.Errorf("left behind: %s", filepath.Join(dir, e.Name()))
			}
		}
	}
}

func inputsLeft(t *testing.T, drop, state string, ignored []string) []string {
	entries, err := os.ReadDir(drop)
	if err != nil {
		t.Fatal(err)
	}
	skip := map[string]bool{}
	for _, n := range ignored {
		skip[n] = true
	}
	var left []string
	for _, e := range entries {
		if !e.IsDir() && !skip[e.Name()] {
			left = append(left, e.Name())
		}
	}
	claims, _ := filepath.Glob(filepath.Join(state, "*.claim"))
	return append(left, claims...)
}

func listFiles(t *testing.T, dir string) map[string]bool {
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]bool{}
	for _, e := range entries {
		m[e.Name()] = true
	}
	return m
}

func keys(m map[string]bool) []string {
	var k []string
	for n := range m {
		k = append(k, n)
	}
	return k
}

func containsAny(b []byte, subs []string) bool {
	for _, s := range subs {
		if bytes.Contains(b, []byte(s)) {
			return true
		}
	}
	return false
}
