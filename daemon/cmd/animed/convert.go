package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"syscall"

	"github.com/spf13/pflag"

	"github.com/animed/animed/daemon/config"
	"github.com/animed/animed/daemon/pipeline"
	"github.com/animed/animed/hw/backend"
	"github.com/animed/animed/internal/durable"
	"github.com/animed/animed/internal/imageio"
	"github.com/animed/animed/internal/progress"
	"github.com/animed/animed/internal/stylize"
	"github.com/animed/animed/internal/tflite"
)

// convertCommand styles one photo: the same decode, model and encode as the
// daemon, and the same durable write.
func convertCommand(args []string, stdout, stderr io.Writer) int {
	fs := pflag.NewFlagSet("convert", pflag.ContinueOnError)
	fs.SortFlags = false
	model := fs.String("model", "", "TFLite model file (default: the embedded AnimeGAN-Tiny v2 INT8 model)")
	maxSide := fs.Int("max-side", config.DefaultMaxSide, "long side of the result in pixels")
	quality := fs.Int("quality", config.DefaultQuality, "JPEG quality, 1-100")
	threads := fs.Int("threads", runtime.GOMAXPROCS(0), "inference threads; the default is the number of CPUs this process may use")
	tile := fs.Int("tile-pixels", config.DefaultTile, "largest piece of the photo the model runs on at once, in pixels; bigger photos go through overlapping tiles (more: faster and more memory)")
	maxPixels := fs.Int64("max-pixels", config.DefaultMaxPixels, "refuse images whose header declares more pixels than this")
	maxBytes := fs.Int64("max-bytes", config.DefaultMaxBytes, "refuse files larger than this many bytes")
	be := backend.XNNPACK
	fs.Var(backend.Flag(&be), "backend", "inference backend: "+tflite.Names(backend.Choices)+"; auto self-tests each candidate (cached in the user cache folder)")
	delegate := fs.String("delegate", "", "TFLite external delegate plugin (.so); implies --backend auto unless --backend is given")
	logLevel := fs.String("log-level", "info", "least severe log lines written to stderr: debug, info, warn or error")
	const head = "Usage: animed convert [flags] IN OUT\n\nStyles the photo IN and writes OUT; the format follows OUT's extension (.jpg, .jpeg or .png)."
	if code, ok := parseFlags(fs, head, args, stdout, stderr); !ok {
		return code
	}
	fail := func(code int, format string, a ...any) int {
		fmt.Fprintf(stderr, "animed convert: "+format+"\n", a...)
		return code
	}
	if fs.NArg() != 2 {
		return fail(2, "want IN and OUT, got %d arguments", fs.NArg())
	}
	in, out := fs.Arg(0), fs.Arg(1)
	format, err := imageio.FormatFromName(out)
	if err != nil {
		return fail(2, "%v", err)
	}
	switch {
	case *maxSide < 16:
		return fail(2, "--max-side %d: must be at least 16", *maxSide)
	case *quality < 1 || *quality > 100:
		return fail(2, "--quality %d: must be between 1 and 100", *quality)
	case *threads < 1:
		return fail(2, "--threads %d: must be at least 1", *threads)
	case *tile < 64*64 || *tile > 1<<26:
		return fail(2, "--tile-pixels %d: must be between 4096 (64x64) and 67108864", *tile)
	}
	if _, err := config.ParseLogLevel(*logLevel); err != nil {
		return fail(2, "--log-level %q: %v", *logLevel, err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	data, err := imageio.ReadFile(in, *maxBytes)
	if err != nil {
		return fail(1, "%v", err)
	}
	if be == backend.External && *delegate == "" {
		return fail(2, "--backend external needs --delegate PATH")
	}
	if *delegate != "" && !fs.Changed("backend") {
		be = backend.Auto
	}
	opts := stylize.Options{Threads: *threads, Backend: be}
	remember := func(*stylize.Stylizer) {}
	if be == backend.Auto || be == backend.External {
		log := newLogger(stderr, "text", *logLevel)
		cache := ""
		if dir, err := os.UserCacheDir(); err == nil {
			cache = filepath.Join(dir, "animed")
			if err := os.MkdirAll(cache, 0o755); err != nil {
				cache = ""
			}
		}
		d, err := chooseBackend(ctx, backendChoice{Model: *model, Backend: be, Delegate: *delegate,
			Threads: *threads, StateDir: cache}, log)
		if err != nil {
			return fail(1, "%v", err)
		}
		opts = stylize.Options{Threads: d.Threads, Backend: d.Backend, ExternalDelegate: d.Delegate, Field: cachedField(d, log), Logger: log}
		remember = func(s *stylize.Stylizer) { rememberField(cache, d, s, log) }
	}
	opts.MaxWholePixels = *tile
	bar := progress.New(stderr, "tiles") // nil off a terminal
	opts.Tiles = bar.Update
	s, name, err := loadStylizer(*model, opts)
	if err != nil {
		return fail(1, "%v", err)
	}
	defer s.Close()
	remember(s)
	r, err := pipeline.Render(ctx, s, data, format, pipeline.Options{
		Quality: *quality, MaxSide: *maxSide, MaxPixels: *maxPixels, ModelName: name})
	bar.Finish()
	if err != nil {
		return fail(1, "%s: %v", in, err)
	}
	dir, base := filepath.Split(out)
	if dir == "" {
		dir = "."
	}
	err = durable.WriteFile(dir, base, 0o644, func(w io.Writer) error {
		_, err := w.Write(r.Data)
		return err
	})
	if err != nil {
		return fail(1, "%v", err)
	}
	fmt.Fprintf(stdout, "%s -> %s (%dx%d, decode %v, model %v, encode %v)\n", in, out, r.Width, r.Height,
		r.Decode.Round(100_000), r.Infer.Round(100_000), r.Encode.Round(100_000))
	return 0
}
