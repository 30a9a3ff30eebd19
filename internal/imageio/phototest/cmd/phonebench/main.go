// Command phonebench measures animed on realistic 12 MP phone JPEGs
// (internal/imageio/phototest): decoding to the daemon's 1024 px, the
// in-process pipeline (decode, the default model, encode) and, with
// --animed, the daemon on a drop folder. It prints the "12 MP phone JPEG"
// section of bench/REPORT.md (make bench).
//
//	phonebench [--animed BIN] [--count N] [--threads N]
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"regexp"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"time"

	"github.com/animed/animed/bench"
	"github.com/animed/animed/daemon/config"
	"github.com/animed/animed/daemon/pipeline"
	"github.com/animed/animed/internal/imageio"
	"github.com/animed/animed/internal/imageio/phototest"
	"github.com/animed/animed/internal/stylize"
	"github.com/animed/animed/models"
)

// The daemon's defaults.
const (
	maxSide   = config.DefaultMaxSide
	maxPixels = config.DefaultMaxPixels
	quality   = config.DefaultQuality
)

func main() {
	animed := flag.String("animed", "", "animed binary: also measure `animed run` on a drop folder")
	count := flag.Int("count", 12, "photos")
	threads := flag.Int("threads", runtime.NumCPU(), "model threads")
	flag.Parse()
	if err := run(context.Background(), os.Stdout, *animed, *count, *threads); err != nil {
		fmt.Fprintln(os.Stderr, "phonebench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, w io.Writer, animed string, count, threads int) error {
	photos := make([][]byte, count)
	var size int
	for i := range photos {
		var err error
		photos[i], err = phototest.Photo(phototest.Source(i), phototest.PhoneWidth, phototest.PhoneHeight, uint64(i))
		if err != nil {
			return err
		}
		size += len(photos[i])
	}
	fmt.Fprintf(w, "## 12 MP phone JPEG\n\n%d generated %dx%d phone photos (%.1f MB each on average: a real photo "+
		"scaled up with sensor noise, quality 92), results at the default %d px, %d model threads.\n\n",
		count, phototest.PhoneWidth, phototest.PhoneHeight, float64(size)/float64(count)/1e6, maxSide, threads)
	fmt.Fprintln(w, "| measurement | figure | peak RSS |\n| --- | --- | --- |")

	var decode []time.Duration
	for _, p := range photos {
		t := time.Now()
		if _, err := imageio.Decode(p, imageio.DecodeOptions{MaxPixels: maxPixels, MaxSide: maxSide}); err != nil {
			return err
		}
		decode = append(decode, time.Since(t))
	}
	slices.Sort(decode)
	fmt.Fprintf(w, "| decode to %d px (imageio, median) | %.1f ms | |\n", maxSide, ms(decode[len(decode)/2]))

	debug.FreeOSMemory()
	os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) // reset VmHWM
	base := hwmKB()
	s, err := stylize.NewFromData(models.Default(), stylize.Options{Threads: threads, MaxWholePixels: config.DefaultTile,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		return err
	}
	defer s.Close()
	o := pipeline.Options{Format: imageio.JPEG, Quality: quality, MaxSide: maxSide, MaxPixels: maxPixels, ModelName: models.DefaultName()}
	if _, err := pipeline.Render(ctx, s, photos[0], imageio.JPEG, o); err != nil { // warm-up
		return err
	}
	t := time.Now()
	for _, p := range photos {
		if _, err := pipeline.Render(ctx, s, p, imageio.JPEG, o); err != nil {
			return err
		}
	}
	el := time.Since(t)
	fmt.Fprintf(w, "| in process: decode, model, encode, one after the other | %.2f photos/s | %.0f MB (%.0f MB before the model) |\n",
		float64(count)/el.Seconds(), float64(hwmKB())/1024, float64(base)/1024)

	if animed != "" {
		r, err := bench.Daemon(ctx, bench.DaemonOptions{Animed: animed, Inputs: photos, Threads: threads})
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "| daemon (`animed run`), once busy | %.2f photos/s | %.0f MB |\n",
			r.SteadyPhotosPerS, float64(r.PeakRSSKB)/1024)
	}
	fmt.Fprintln(w)
	return nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// hwmKB is this process's peak RSS (VmHWM) in kB.
func hwmKB() int64 {
	b, _ := os.ReadFile("/proc/self/status")
	m := regexp.MustCompile(`VmHWM:\s+(\d+) kB`).FindSubmatch(b)
	if m == nil {
		return 0
	}
	n, _ := strconv.ParseInt(string(m[1]), 10, 64)
	return n
}
