package quantize_test

import (
	"context"
	"slices"
	"testing"

	"github.com/animed/animed/converter/quantize"
	"github.com/animed/animed/converter/quantize/quanttest"
)

// CalibOptions.Step sees every image, in order, against the image count.
func TestCalibrateStep(t *testing.T) {
	m := quanttest.Generator(quanttest.GeneratorConfig{Size: 24})
	var got [][2]int
	_, err := quantize.Calibrate(context.Background(), m, quantize.SyntheticImages(3, 24, 24, 1), quantize.CalibOptions{
		Threads: 1, Step: func(done, total int) { got = append(got, [2]int{done, total}) }})
	if err != nil {
		t.Fatal(err)
	}
	if want := [][2]int{{1, 3}, {2, 3}, {3, 3}}; !slices.Equal(got, want) {
		t.Errorf("steps %v, want %v", got, want)
	}
}
