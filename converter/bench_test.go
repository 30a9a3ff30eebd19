package converter_test

import (
	"os"
	"testing"

	"github.com/animed/animed/converter"
	"github.com/animed/animed/converter/onnx"
)

// BenchmarkConvertAnimeGAN measures load + convert + marshal of the
// PyTorch-exported AnimeGANv2-family test generator at 256x256.
func BenchmarkConvertAnimeGAN(b *testing.B) {
	data, err := os.ReadFile("testdata/animegan_tiny.onnx")
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		g, err := onnx.Load(data, "")
		if err != nil {
			b.Fatal(err)
		}
		res, err := converter.Convert(g, converter.Options{InputShape: []int{1, 3, 256, 256}})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := res.Model.Marshal(); err != nil {
			b.Fatal(err)
		}
	}
}
