// Package sharedtest finds the project's outside data folder, ../shared
// beside the repository (teacher model, photos), for tests. The folder is
// never part of the repository: tests that need it skip with a clear
// message when it is absent, as in a user's fresh clone.
package sharedtest

import (
	"os"
	"path/filepath"
	"testing"
)

// EnvVar overrides where the shared folder is.
const EnvVar = "ANIMED_SHARED"

// Root returns the shared folder's path and whether it exists: $ANIMED_SHARED,
// else ../shared next to the module root (the folder holding go.mod).
func Root() (string, bool) {
	if d := os.Getenv(EnvVar); d != "" {
		return d, isDir(d)
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", false
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			d := filepath.Join(filepath.Dir(dir), "shared")
			return d, isDir(d)
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", false
		}
		dir = parent
	}
}

// Path returns the path of rel inside the shared folder, skipping the test
// when the folder or the file is absent.
func Path(tb testing.TB, rel ...string) string {
	tb.Helper()
	root, ok := Root()
	if !ok {
		tb.Skipf("shared data folder not found (want ../shared beside the repository or $%s): skipping", EnvVar)
	}
	p := filepath.Join(append([]string{root}, rel...)...)
	if _, err := os.Stat(p); err != nil {
		tb.Skipf("shared data %s not available: %v", filepath.Join(rel...), err)
	}
	return p
}

// Teacher returns the path of the AnimeGANv2 teacher model.
func Teacher(tb testing.TB) string {
	tb.Helper()
	return Path(tb, "teacher", "animeganv2_hayao_256_int8.tflite")
}

// Photos returns the path of the photo folder.
func Photos(tb testing.TB) string {
	tb.Helper()
	return Path(tb, "photos")
}

func isDir(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}
