package durable

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"unicode/utf8"
)

func TestWriteFileReplacesLeftoverTemp(t *testing.T) {
	dir := t.TempDir()
	// A crash left a partial temp file; a redo overwrites it.
	os.WriteFile(filepath.Join(dir, TempName("a.jpg")), []byte("partial"), 0o644)
	err := WriteFile(dir, "a.jpg", 0o644, func(w io.Writer) error { _, err := io.WriteString(w, "complete"); return err })
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "a.jpg")); string(b) != "complete" {
		t.Fatalf("content %q", b)
	}
	if _, err := os.Lstat(filepath.Join(dir, TempName("a.jpg"))); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("temp file left: %v", err)
	}
}

func TestWriteFileFailureLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	err := WriteFile(dir, "a.jpg", 0o644, func(w io.Writer) error {
		io.WriteString(w, "half")
		return errors.New("encoder broke")
	})
	if err == nil {
		t.Fatal("no error")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("left %v", entries)
	}
}

func TestWriteFileDoesNotFollowTempSymlink(t *testing.T) {
	dir, other := t.TempDir(), t.TempDir()
	victim := filepath.Join(other, "victim")
	os.WriteFile(victim, []byte("keep"), 0o644)
	os.Symlink(victim, filepath.Join(dir, TempName("a.jpg")))
	os.Symlink(victim, filepath.Join(dir, "a.jpg"))
	if err := WriteFile(dir, "a.jpg", 0o644, func(w io.Writer) error { _, err := io.WriteString(w, "new"); return err }); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(victim); string(b) != "keep" {
		t.Fatalf("wrote through a symlink: victim now %q", b)
	}
	if fi, _ := os.Lstat(filepath.Join(dir, "a.jpg")); !fi.Mode().IsRegular() {
		t.Fatalf("a.jpg is %v, want a regular file", fi.Mode())
	}
}

func TestMove(t *testing.T) {
	// /dev/shm is usually another filesystem than the test's temp dir,
	// which exercises the EXDEV copy path; otherwise a plain rename.
	targets := []string{t.TempDir()}
	if shm, err := os.MkdirTemp("/dev/shm", "durable-"); err == nil {
		defer os.RemoveAll(shm)
		targets = append(targets, shm)
	}
	for _, dst := range targets {
		src := t.TempDir()
		os.WriteFile(filepath.Join(src, "photo.jpg"), []byte("jpeg"), 0o640)
		os.Symlink("/etc/passwd", filepath.Join(src, "link.jpg"))
		syscall.Mkfifo(filepath.Join(src, "fifo.jpg"), 0o644)
		from, to := mustOpen(t, src), mustOpen(t, dst)
		for _, n := range []string{"photo.jpg", "link.jpg", "fifo.jpg"} {
			if err := Move(from, n, to, n); err != nil {
				t.Fatalf("%s -> %s: %v", n, dst, err)
			}
			if _, err := os.Lstat(filepath.Join(src, n)); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("%s still in the source", n)
			}
		}
		if b, _ := os.ReadFile(filepath.Join(dst, "photo.jpg")); string(b) != "jpeg" {
			t.Errorf("moved content %q", b)
		}
		if fi, _ := os.Lstat(filepath.Join(dst, "link.jpg")); fi == nil || fi.Mode()&os.ModeSymlink == 0 {
			t.Errorf("link.jpg is not a symlink after the move")
		}
		if fi, _ := os.Lstat(filepath.Join(dst, "fifo.jpg")); fi == nil || fi.Mode()&os.ModeNamedPipe == 0 {
			t.Errorf("fifo.jpg is not a FIFO after the move")
		}
	}
}

func TestFreeName(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "a.jpg"), nil, 0o644)
	os.Symlink("/nonexistent", filepath.Join(dir, "a-1.jpg")) // dangling counts
	got, err := mustOpen(t, dir).FreeName("a", ".jpg", 0, func(n string) bool { return n == "a-2.jpg" })
	if err != nil || got != "a-3.jpg" {
		t.Fatalf("FreeName = %q, %v; want a-3.jpg", got, err)
	}
}

func ExampleDir_FreeName() {
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	os.WriteFile(filepath.Join(dir, "beach.jpg"), nil, 0o644)
	d, _ := OpenDir(dir)
	defer d.Close()
	name, _ := d.FreeName("beach", ".jpg", 0, nil)
	fmt.Println(name)
	// Output: beach-1.jpg
}

func mustOpen(t *testing.T, path string) *Dir {
	t.Helper()
	d, err := OpenDir(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

func TestNamesMustBePlain(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "dir")
	os.Mkdir(dir, 0o755)
	os.WriteFile(filepath.Join(root, "outside"), []byte("keep"), 0o644)
	d := mustOpen(t, dir)
	write := func(w io.Writer) error { _, err := io.WriteString(w, "x"); return err }
	for _, name := range []string{"", ".", "..", "../outside", "a/b", "/etc/passwd", "a\x00b", strings.Repeat("n", 256)} {
		if err := d.WriteFile(name, 0o644, write); !errors.Is(err, ErrBadName) {
			t.Errorf("WriteFile(%q) = %v, want ErrBadName", name, err)
		}
		if err := d.Remove(name); !errors.Is(err, ErrBadName) {
			t.Errorf("Remove(%q) = %v, want ErrBadName", name, err)
		}
		if err := Move(d, "x", d, name); !errors.Is(err, ErrBadName) {
			t.Errorf("Move to %q = %v, want ErrBadName", name, err)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(root, "outside")); string(b) != "keep" {
		t.Fatalf("a file outside the folder was replaced: %q", b)
	}
}

func TestCheckNoticesSwap(t *testing.T) {
	root := t.TempDir()
	dir, elsewhere := filepath.Join(root, "done"), t.TempDir()
	os.Mkdir(dir, 0o755)
	d := mustOpen(t, dir)
	if err := d.Check(); err != nil {
		t.Fatal(err)
	}
	// An uploader who can write root swaps done/ for a link elsewhere.
	os.Rename(dir, filepath.Join(root, "old"))
	os.Symlink(elsewhere, dir)
	if err := d.Check(); !errors.Is(err, ErrReplaced) {
		t.Fatalf("Check after a swap = %v, want ErrReplaced", err)
	}
	if _, err := OpenDir(dir); !errors.Is(err, ErrReplaced) {
		t.Fatalf("OpenDir of a symlink = %v, want ErrReplaced", err)
	}
}

func TestLongNames(t *testing.T) {
	d := mustOpen(t, t.TempDir())
	long := strings.Repeat("é", 126) + ".jpg" // 256 bytes: one over
	name, err := d.FreeName(strings.TrimSuffix(long, ".jpg"), ".jpg", len(".error.txt"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(name)+len(".error.txt") > MaxName || !utf8.ValidString(name) || !strings.HasSuffix(name, ".jpg") {
		t.Fatalf("FreeName = %q (%d bytes)", name, len(name))
	}
	full := strings.Repeat("n", 251) + ".jpg"
	if len(TempName(full)) > MaxName {
		t.Fatalf("TempName of a 255-byte name is %d bytes", len(TempName(full)))
	}
	if err := d.WriteFile(full, 0o644, func(w io.Writer) error { return nil }); err != nil {
		t.Fatalf("write a 255-byte name: %v", err)
	}
	if TempName(full) == TempName(full[1:]) {
		t.Fatal("two long names share a temporary name")
	}
}

// The package-level WriteFile is for the caller's own folders (animed
// convert OUT): a folder reached through a symbolic link works.
func TestWriteFileThroughLinkedFolder(t *testing.T) {
	real := t.TempDir()
	link := filepath.Join(t.TempDir(), "link")
	os.Symlink(real, link)
	if err := WriteFile(link, "a.jpg", 0o644, func(w io.Writer) error { _, err := io.WriteString(w, "x"); return err }); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(real, "a.jpg")); string(b) != "x" {
		t.Fatalf("content %q", b)
	}
}
