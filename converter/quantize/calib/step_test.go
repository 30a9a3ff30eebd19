package calib_test

import (
	"context"
	"slices"
	"testing"

	"github.com/animed/animed/converter/quantize/calib"
	"github.com/animed/animed/internal/testmodel"
)

// CalibOptions.Step sees every image, in order, against the image count.
func TestCalibrateStep(t *testing.T) {
	m := testmodel.Generator(testmodel.GeneratorConfig{Size: 24})
	var got [][2]int
	_, err := calib.Calibrate(context.Background(), m, calib.SyntheticImages(3, 24, 24, 1), calib.CalibOptions{
		Threads: 1, Step: func(done, total int) { got = append(got, [2]int{done, total}) }})
	if err != nil {
		t.Fatal(err)
	}
	if want := [][2]int{{1, 3}, {2, 3}, {3, 3}}; !slices.Equal(got, want) {
		t.Errorf("steps %v, want %v", got, want)
	}
}
