package imageio

import (
	"bytes"
	"fmt"
	"image"
	"image/jpeg"
	"syscall"
	"testing"
	"time"

	"github.com/animed/animed/internal/imageio/phototest"
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

// phonePhoto is a realistic 12 MP phone JPEG (about 3.5 MB).
func phonePhoto(tb testing.TB) []byte {
	tb.Helper()
	data, err := phototest.Photo(phototest.Source(0), phototest.PhoneWidth, phototest.PhoneHeight, 1)
	if err != nil {
		tb.Fatal(err)
	}
	return data
}

// BenchmarkDecodePhone12MP decodes a 12 MP phone JPEG to the daemon's
// default 1024 px long side (issue 15's target: <= 60 ms on the 2-core
// development machine, decoding at most ~2x the output pixels): all of
// Decode, then its two steps alone, libjpeg-turbo's decode at 3/8 DCT
// scale (1512x1134; entropy decoding dominates it, so even the 1/4 scale
// is barely cheaper) and the area resize to 1024x768.
//
//	go test ./internal/imageio -run '^$' -bench Phone12MP -benchtime 20x
func BenchmarkDecodePhone12MP(b *testing.B) {
	data := phonePhoto(b)
	w, h := scaledSize(phototest.PhoneWidth, phototest.PhoneHeight, 1024)
	dw, dh := turboScale(phototest.PhoneWidth, phototest.PhoneHeight, w, h)
	scaled := image.NewRGBA(image.Rect(0, 0, dw, dh))
	if err := turboDecode(data, scaled); err != nil {
		b.Fatal(err)
	}
	for _, step := range []struct {
		name string
		run  func() error
	}{
		{"Decode", func() error {
			_, err := Decode(data, DecodeOptions{MaxSide: 1024})
			return err
		}},
		{"turbo", func() error {
			return turboDecode(data, scaled)
		}},
		{"resize", func() error {
			areaResize(scaled, w, h)
			return nil
		}},
	} {
		b.Run(step.name, func(b *testing.B) {
			b.ReportAllocs()
			cpu := cpuTime(b)
			for b.Loop() {
				if err := step.run(); err != nil {
					b.Fatal(err)
				}
			}
			reportCPU(b, cpu)
			b.ReportMetric(float64(dw*dh)/float64(w*h), "decoded-px/out-px")
		})
	}
}

// BenchmarkDecodePhone12MPGo is the same photo through Go's image/jpeg at
// full size and the band-wise shrink, the decoder before libjpeg-turbo.
func BenchmarkDecodePhone12MPGo(b *testing.B) {
	data := phonePhoto(b)
	w, h := scaledSize(phototest.PhoneWidth, phototest.PhoneHeight, 1024)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		m, err := jpeg.Decode(bytes.NewReader(data))
		if err != nil {
			b.Fatal(err)
		}
		toRGBA(m, w, h)
	}
}

// BenchmarkEncode1024 encodes a 1024x768 result as the daemon writes it.
func BenchmarkEncode1024(b *testing.B) {
	p, err := Decode(phonePhoto(b), DecodeOptions{MaxSide: 1024})
	if err != nil {
		b.Fatal(err)
	}
	var buf bytes.Buffer
	b.ReportAllocs()
	for b.Loop() {
		buf.Reset()
		if err := Encode(&buf, p.RGB, EncodeOptions{Format: JPEG}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(buf.Len()), "out-bytes")
}

// cpuTime returns the process's CPU time so far. On the shared 2-core
// development machine wall time per op swings 2-3x with the load; CPU
// time per op swings less.
func cpuTime(tb testing.TB) time.Duration {
	var u syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &u); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(u.Utime.Nano() + u.Stime.Nano())
}

// reportCPU reports the CPU time per op since start (from cpuTime).
func reportCPU(b *testing.B, start time.Duration) {
	b.ReportMetric(float64(cpuTime(b)-start)/float64(b.N)/1e6, "cpu-ms/op")
}

// BenchmarkOrient applies EXIF orientations to a 1024x768 photo (3: a
// half turn, 6: a quarter turn, what phones held upright write).
//
//	go test ./internal/imageio -run '^$' -bench Orient
func BenchmarkOrient(b *testing.B) {
	m := image.NewRGBA(image.Rect(0, 0, 1024, 768))
	for _, o := range []int{3, 6} {
		b.Run(fmt.Sprintf("orientation=%d", o), func(b *testing.B) {
			b.SetBytes(int64(len(m.Pix)))
			for b.Loop() {
				orientRGBA(m, o)
			}
		})
	}
}
