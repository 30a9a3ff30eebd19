package tflite

import (
	"os"
	"testing"
)

// smallModelBytes returns the smallest real model the tests have.
// TODO(runtime): switch to internal/testmodel once it is on main.
func smallModelBytes(t testing.TB) []byte {
	t.Helper()
	b, err := os.ReadFile(sharedFile(t, teacherPath))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func smallModel(t testing.TB) *Model {
	t.Helper()
	m, err := NewModel(smallModelBytes(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}
