package sharedtest

import (
	"os"
	"testing"
)

func TestRootOverride(t *testing.T) {
	dir := t.TempDir()
	t.Setenv(EnvVar, dir)
	if got, ok := Root(); got != dir || !ok {
		t.Errorf("Root() = %q, %v; want %q, true", got, ok, dir)
	}
	t.Setenv(EnvVar, dir+"/missing")
	if _, ok := Root(); ok {
		t.Error("missing folder reported present")
	}
}

func TestTeacher(t *testing.T) {
	p := Teacher(t) // skips without ../shared
	if st, err := os.Stat(p); err != nil || st.Size() < 1<<20 {
		t.Errorf("teacher at %s: %v", p, err)
	}
}
