package imageio

import (
	"testing"
)

// BenchmarkDecode1024 decodes a 3000x2000 JPEG (a 6 MP photo) down to a
// 1024 px long side, the daemon's default.
func BenchmarkDecode1024(b *testing.B) {
	m := quadrants(3000, 2000)
	for y := 0; y < 2000; y++ {
		for x := 0; x < 3000; x++ {
			i := m.PixOffset(x, y)
			m.Pix[i+1] = uint8(x ^ y)
		}
	}
	data := encodeJPEGB(b, m)
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for range b.N {
		if _, err := Decode(data, DecodeOptions{MaxSide: 1024}); err != nil {
			b.Fatal(err)
		}
	}
}
