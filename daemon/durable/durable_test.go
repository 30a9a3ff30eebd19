package durable

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"testing"
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
		for _, n := range []string{"photo.jpg", "link.jpg", "fifo.jpg"} {
			if err := Move(filepath.Join(src, n), filepath.Join(dst, n)); err != nil {
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
	got, err := FreeName(dir, "a", ".jpg", func(n string) bool { return n == "a-2.jpg" })
	if err != nil || got != "a-3.jpg" {
		t.Fatalf("FreeName = %q, %v; want a-3.jpg", got, err)
	}
}

func ExampleFreeName() {
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	os.WriteFile(filepath.Join(dir, "beach.jpg"), nil, 0o644)
	name, _ := FreeName(dir, "beach", ".jpg", nil)
	fmt.Println(name)
	// Output: beach-1.jpg
}
