package tflite

import (
	"os"
	"testing"

	"github.com/animed/animed/internal/testmodel"
)

// smallModelBytes returns the generated 64x64 INT8 test model.
func smallModelBytes(t testing.TB) []byte {
	t.Helper()
	return testmodel.Int8()
}

func smallModel(t testing.TB) *Model {
	t.Helper()
	return newModel(t, smallModelBytes(t))
}

func newModel(t testing.TB, data []byte) *Model {
	t.Helper()
	m, err := NewModel(data)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// buildModel returns a generated test model.
func buildModel(t testing.TB, c testmodel.Config) *Model {
	t.Helper()
	data, err := testmodel.Build(c)
	if err != nil {
		t.Fatal(err)
	}
	return newModel(t, data)
}

// leakModelBytes returns the largest model at hand, so that a leaked copy
// per load shows in the resident size: the teacher if ../shared is there.
func leakModelBytes(t testing.TB) []byte {
	if p, ok := sharedPath(teacherRel); ok {
		if b, err := os.ReadFile(p); err == nil {
			return b
		}
	}
	t.Logf("../shared/%s absent: leak test uses the small generated model", teacherRel)
	return smallModelBytes(t)
}

// pattern returns a deterministic test image in [-1, 1].
func pattern(h, w int) []float32 {
	in := make([]float32, h*w*3)
	for i := range in {
		y, x, c := i/(w*3), i/3%w, i%3
		in[i] = float32((y*7+x*13+c*29)%64)/32 - 1
	}
	return in
}
