package calib_test

import (
	"context"
	"math"
	"math/rand"
	"reflect"
	"testing"

	"github.com/animed/animed/converter/quantize"
	"github.com/animed/animed/converter/quantize/calib"
	"github.com/animed/animed/internal/testmodel"
)

func TestRangeMethods(t *testing.T) {
	// 100000 values: a normal bulk and a few far outliers.
	r := rand.New(rand.NewSource(1))
	v := make([]float32, 100000)
	for i := range v {
		v[i] = float32(r.NormFloat64())
	}
	v[10], v[20] = 40, -30
	st := &calib.Stats{Images: 1, Tensors: map[int32]*calib.TensorStats{
		0: {Name: "x", Min: -30, Max: 40, Samples: v, PerImage: len(v)},
		// A per-channel statistic (8 values per image): minmax, widened.
		1: {Name: "mean", Min: 0.1, Max: 0.5, Samples: []float32{0.1, 0.2, 0.5}, PerImage: 8},
		2: {Name: "centred", Min: -0.2, Max: 0.2, Samples: []float32{-0.2, 0.2}, PerImage: 8},
	}}
	get := func(m calib.Method, p float64) quantize.Range {
		t.Helper()
		rs, err := st.Ranges(m, p)
		if err != nil {
			t.Fatal(err)
		}
		return rs[0]
	}
	if got := get(calib.MinMax, 0); got != (quantize.Range{Min: -30, Max: 40}) {
		t.Errorf("minmax %v", got)
	}
	for _, m := range []calib.Method{calib.MinMax, calib.Percentile, calib.MSE} {
		rs, err := st.Ranges(m, 99.9)
		if err != nil {
			t.Fatal(err)
		}
		if got := rs[1]; got.Min != 0.1 || math.Abs(float64(got.Max)-0.56) > 1e-6 {
			t.Errorf("%s: small positive tensor range %v, want [0.1, 0.56]", m, got)
		}
		if got := rs[2]; math.Abs(float64(got.Min)+0.26) > 1e-6 || math.Abs(float64(got.Max)-0.26) > 1e-6 {
			t.Errorf("%s: small tensor range %v, want [-0.26, 0.26]", m, got)
		}
	}
	// 99.9% keeps about 3.3 sigma, ignoring the outliers.
	if got := get(calib.Percentile, 99.9); got.Max > 4 || got.Max < 2.5 || got.Min < -4 || got.Min > -2.5 {
		t.Errorf("percentile 99.9: %v", got)
	}
	// MSE shrinks the range but not all the way down.
	if got := get(calib.MSE, 0); got.Max >= 40 || got.Max < 10 {
		t.Errorf("mse: %v", got)
	}
	for _, bad := range []struct {
		m calib.Method
		p float64
	}{{"median", 0}, {calib.Percentile, 40}, {calib.Percentile, 101}} {
		if _, err := st.Ranges(bad.m, bad.p); err == nil {
			t.Errorf("Ranges(%q, %g) accepted", bad.m, bad.p)
		}
	}
}

// TestCalibrationDeterministic: the same images and seed give the same
// ranges; another seed gives other crops.
func TestCalibrationDeterministic(t *testing.T) {
	files := photoFiles(t)
	a, err := calib.LoadImages(files, 3, 24, 24, 5)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := calib.LoadImages(files, 3, 24, 24, 5)
	c, _ := calib.LoadImages(files, 3, 24, 24, 6)
	if !reflect.DeepEqual(a, b) {
		t.Error("same seed, different images")
	}
	if reflect.DeepEqual(a, c) {
		t.Error("different seeds, same images")
	}
	m := testmodel.Generator(testmodel.GeneratorConfig{Size: 24 - 24%4})
	ranges := func() map[int32]quantize.Range {
		st, err := calib.Calibrate(context.Background(), m, a, calib.CalibOptions{Threads: 1, Seed: 3, SamplesPerImage: 100})
		if err != nil {
			t.Fatal(err)
		}
		r, err := st.Ranges(calib.Percentile, 99)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	if r1, r2 := ranges(), ranges(); !reflect.DeepEqual(r1, r2) {
		t.Error("calibration is not deterministic")
	}
	for _, im := range a {
		if len(im.Pix) != 24*24*3 || math.IsNaN(float64(im.Float()[0])) {
			t.Fatalf("image %s: %d bytes", im.Source, len(im.Pix))
		}
	}
}

// photoFiles returns the shared photos, or writes a few synthetic PNGs.
func photoFiles(t *testing.T) []string {
	imgs, photos := testImagesReal(t, 1, 8, 1)
	_ = imgs
	if photos {
		root, _ := sharedRoot()
		files, err := calib.FindImages(root)
		if err != nil {
			t.Fatal(err)
		}
		return files[:20]
	}
	dir := t.TempDir()
	return writeSynthetic(t, dir, 4)
}
