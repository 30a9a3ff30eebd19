package imageio

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// The limits the daemon runs with by default (daemon/config).
const (
	daemonMaxPixels = 50_000_000
	daemonMaxSide   = 1024
)

// pngFile builds a PNG of w x h zero pixels of the given colour type and
// bit depth, Adam7-interlaced or not.
func pngFile(t testing.TB, w, h int, depth, colour byte, interlaced bool) []byte {
	t.Helper()
	chans := map[byte]int{0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[colour]
	rowBytes := func(pw int) int { return 1 + (pw*chans*int(depth)+7)/8 }
	var raw bytes.Buffer
	zw, _ := zlib.NewWriterLevel(&raw, zlib.BestSpeed)
	write := func(pw, ph int) {
		if pw == 0 || ph == 0 {
			return
		}
		row := make([]byte, rowBytes(pw))
		for range ph {
			zw.Write(row)
		}
	}
	if interlaced {
		for _, p := range [7][4]int{{0, 0, 8, 8}, {4, 0, 8, 8}, {0, 4, 4, 8}, {2, 0, 4, 4}, {0, 2, 2, 4}, {1, 0, 2, 2}, {0, 1, 1, 2}} {
			write((w-p[0]+p[2]-1)/p[2], (h-p[1]+p[3]-1)/p[3])
		}
	} else {
		write(w, h)
	}
	zw.Close()
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	chunk := func(typ string, data []byte) {
		binary.Write(&b, binary.BigEndian, uint32(len(data)))
		c := append([]byte(typ), data...)
		b.Write(c)
		binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(c))
	}
	ihdr := binary.BigEndian.AppendUint32(nil, uint32(w))
	ihdr = binary.BigEndian.AppendUint32(ihdr, uint32(h))
	il := byte(0)
	if interlaced {
		il = 1
	}
	ihdr = append(ihdr, depth, colour, 0, 0, il)
	chunk("IHDR", ihdr)
	chunk("IDAT", raw.Bytes())
	chunk("IEND", nil)
	return b.Bytes()
}

// jpegHeader is the start of a JPEG whose frame header declares w x h
// pixels with the given SOF marker and sampling factors, and one scan.
func jpegHeader(marker byte, w, h int, sampling ...byte) []byte {
	b := []byte{0xFF, 0xD8, 0xFF, marker}
	b = binary.BigEndian.AppendUint16(b, uint16(8+3*len(sampling)))
	b = append(b, 8)
	b = binary.BigEndian.AppendUint16(b, uint16(h))
	b = binary.BigEndian.AppendUint16(b, uint16(w))
	b = append(b, byte(len(sampling)))
	for i, s := range sampling {
		b = append(b, byte(i+1), s, 0)
	}
	b = append(b, 0xFF, 0xDA, 0, 12, byte(len(sampling)))
	return append(b, make([]byte, 16)...)
}

// losslessWebP is a VP8L header declaring w x h pixels.
func losslessWebP(w, h int) []byte {
	data := []byte{0x2f}
	data = binary.LittleEndian.AppendUint32(data, uint32(w-1)|uint32(h-1)<<14|1<<28)
	data = append(data, make([]byte, 16)...)
	b := []byte("RIFF\x00\x00\x00\x00WEBPVP8L")
	b = binary.LittleEndian.AppendUint32(b, uint32(len(data)))
	b = append(b, data...)
	binary.LittleEndian.PutUint32(b[4:], uint32(len(b)-8))
	return b
}

func TestDecodeBytesEstimates(t *testing.T) {
	tests := []struct {
		name   string
		data   []byte
		refuse bool
	}{
		{"progressive 4:4:4 jpeg 36 MP", jpegHeader(0xC2, 6000, 6000, 0x11, 0x11, 0x11), true},
		{"progressive 4:2:0 jpeg 12 MP", jpegHeader(0xC2, 4032, 3024, 0x22, 0x11, 0x11), false},
		{"baseline 4:4:4 jpeg 48 MP", jpegHeader(0xC0, 8000, 6000, 0x11, 0x11, 0x11), false},
		{"lossless webp 25 MP", losslessWebP(5000, 5000), true},
		{"lossless webp 4 MP", losslessWebP(2000, 2000), false},
		{"16-bit interlaced png 16 MP", pngFile(t, 4000, 4000, 16, 6, true), true},
		{"8-bit rgb png 48 MP", pngFile(t, 8000, 6000, 8, 2, false), false},
		{"8-bit gray png 48 MP", pngFile(t, 8000, 6000, 8, 0, false), false},
	}
	for _, tt := range tests {
		h, err := DecodeHeader(tt.data)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		sw, sh := scaledSize(h.Width, h.Height, daemonMaxSide)
		err = checkDecodeMemory(tt.data, h, sw, sh, 0)
		if got := errors.Is(err, ErrDecodeMemory); got != tt.refuse {
			t.Errorf("%s: refused = %v (%v), want %v", tt.name, got, err, tt.refuse)
		}
	}
}

// TestDecodeChild decodes the file named by $ANIMED_IMAGEIO_DECODE with
// the daemon's limits and prints the outcome and the peak RSS; it is the
// child that TestDecodeMemoryBombs starts.
func TestDecodeChild(t *testing.T) {
	path := os.Getenv("ANIMED_IMAGEIO_DECODE")
	if path == "" {
		t.Skip("runs as TestDecodeMemoryBombs's child process")
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Decode(data, DecodeOptions{MaxPixels: daemonMaxPixels, MaxSide: daemonMaxSide})
	data = nil
	status, _ := os.ReadFile("/proc/self/status")
	hwm := regexp.MustCompile(`VmHWM:\s+(\d+) kB`).FindSubmatch(status)
	if hwm == nil {
		t.Fatal("no VmHWM in /proc/self/status")
	}
	refused := errors.Is(err, ErrDecodeMemory)
	t.Logf("result: refused=%v peak-kB=%s err=%v", refused, hwm[1], err)
}

// TestDecodeMemoryBombs decodes crafted uploads that pass the pixel and
// byte limits, each in a child process, and checks its peak RSS (VmHWM):
// what the header says would take too much memory is refused before
// decoding, and everything decoded stays under 300 MB.
func TestDecodeMemoryBombs(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping the memory bombs (seconds of zlib) in -short mode")
	}
	dir := t.TempDir()
	tests := []struct {
		name   string
		data   []byte
		refuse bool
	}{
		{"16-bit interlaced png", pngFile(t, 4000, 4000, 16, 6, true), true},
		{"progressive 4:4:4 jpeg", jpegHeader(0xC2, 6000, 6000, 0x11, 0x11, 0x11), true},
		{"lossless webp", losslessWebP(6000, 6000), true},
		{"48 MP rgb png", pngFile(t, 8000, 6000, 8, 2, false), false},
		{"16-bit 10 MP png", pngFile(t, 4000, 2500, 16, 6, false), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tt.name, " ", "_"))
			if err := os.WriteFile(path, tt.data, 0o644); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(os.Args[0], "-test.run", "^TestDecodeChild$", "-test.v")
			cmd.Env = append(os.Environ(), "ANIMED_IMAGEIO_DECODE="+path, "GOGC=100")
			out, err := cmd.CombinedOutput()
			m := regexp.MustCompile(`result: refused=(\w+) peak-kB=(\d+) err=(.*)`).FindSubmatch(out)
			if err != nil || m == nil {
				t.Fatalf("child: %v\n%s", err, out)
			}
			refused := string(m[1]) == "true"
			peak, _ := strconv.Atoi(string(m[2]))
			t.Logf("%d-byte file: refused %v, peak RSS %d MB (%s)", len(tt.data), refused, peak>>10, m[3])
			if refused != tt.refuse {
				t.Errorf("refused = %v, want %v", refused, tt.refuse)
			}
			if peak > 300<<10 {
				t.Errorf("peak RSS %d MB, want <= 300 MB", peak>>10)
			}
		})
	}
}
