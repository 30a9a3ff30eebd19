// Package config holds the settings of `animed run`: the flags, their
// defaults, how the environment and the config file override them, and the
// start-up validation that fails with one clear sentence.
//
// Every flag --some-flag can also be set as ANIMED_SOME_FLAG in the
// environment or as "some-flag = value" in the file named by --config.
// The command line wins over the environment, which wins over the file.
package config

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/animed/animed/daemon/fleet"
	"github.com/animed/animed/hw/backend"
	"github.com/animed/animed/internal/durable"
	"github.com/animed/animed/internal/tflite"
)

// EnvPrefix prefixes the environment variable of each flag.
const EnvPrefix = "ANIMED_"

// Config is the validated configuration of the daemon.
type Config struct {
	Watch     string        // drop folder
	Out       string        // results
	Done      string        // originals after success (default Watch/done)
	Failed    string        // originals that could not be processed (default Watch/failed)
	State     string        // journal and backend cache (default: see DefaultState); never inside Watch
	Model     string        // TFLite model file; "" = the embedded default
	Threads   int           // TFLite threads
	Tile      int           // largest model input in pixels; larger photos go through tiles (stylize.Options.MaxWholePixels)
	MaxSide   int           // long side of the result, pixels
	Format    string        // "jpg" or "png"
	Quality   int           // JPEG quality
	KeepExt   bool          // name results NAME.EXT.jpg instead of NAME.jpg
	Poll      time.Duration // polling interval; 0 = fsnotify (auto-poll on network filesystems)
	Settle    time.Duration // a file must be unchanged this long before it is taken
	Grace     time.Duration // a file that does not decode is failed only once unchanged and this old
	MaxPixels int64         // refuse images whose header declares more pixels
	MaxBytes  int64         // refuse files larger than this
	Metrics   string        // address for /metrics and /healthz; "" = off
	LogFormat string        // "text" or "json"
	Fleet     string        // shared claims folder of several daemons on one drop folder; "" = alone
	Instance  string        // this daemon's id in the fleet (default: the host name)
	Lease     time.Duration // a fleet claim not refreshed this long is taken over
	LogLevel  string        // "debug", "info", "warn" or "error"
	File      string        // the config file that was read, if any

	// Backend and Delegate select the inference backend (see hw/); they
	// are passed through to internal/tflite.
	Backend  tflite.Backend
	Delegate string
}

// Defaults that --help shows.
const (
	DefaultMaxSide   = 1024
	DefaultQuality   = 90
	DefaultSettle    = time.Second
	DefaultGrace     = 30 * time.Second
	DefaultLease     = time.Minute
	DefaultMaxPixels = 50_000_000
	DefaultMaxBytes  = 100 << 20
	// DefaultTile is 512x512. The default model (AnimeGAN-Tiny v2) has
	// nothing spatial at full resolution and takes ~100 bytes per input
	// pixel in XNNPACK, and its margin is 24 px: a 1024x768 photo runs as
	// four tiles for ~10% more model time than one piece, at about half
	// the peak memory (measured side by side with --tile-pixels 1048576,
	// which runs it whole: bench/REPORT.md). v1 took ~1.5 KB per pixel and
	// needed 65536. See internal/stylize.Options.
	DefaultTile = 1 << 18
)

// FlagSet returns the flags of `animed run` bound to c, with defaults set.
// Callers may add flags before parsing; they take part in the environment
// and config-file lookup like the built-in ones.
func (c *Config) FlagSet() *pflag.FlagSet {
	fs := pflag.NewFlagSet("run", pflag.ContinueOnError)
	fs.SortFlags = false
	fs.StringVar(&c.Watch, "watch", "", "drop folder to watch for photos (required)")
	fs.StringVar(&c.Out, "out", "", "folder for the results (required)")
	fs.StringVar(&c.Done, "done", "", "folder for originals after success (default WATCH/done)")
	fs.StringVar(&c.Failed, "failed", "", "folder for originals that could not be processed, each with NAME.EXT.error.txt (default WATCH/failed)")
	fs.StringVar(&c.State, "state", "", "private folder for the crash-safety journal and the backend cache; never inside the drop folder (default $STATE_DIRECTORY, else $XDG_STATE_HOME/animed/ID or ~/.local/state/animed/ID, ID naming the drop folder)")
	fs.StringVar(&c.Model, "model", "", "TFLite model file (default: the embedded AnimeGAN-Tiny v2 INT8 model)")
	fs.IntVar(&c.Threads, "threads", runtime.GOMAXPROCS(0), "inference threads; the default is the number of CPUs this process may use")
	fs.IntVar(&c.Tile, "tile-pixels", DefaultTile, "largest piece of a photo the model runs on at once, in pixels; bigger photos go through overlapping tiles (more: a little faster, ~100 bytes more memory per pixel with the default model)")
	fs.IntVar(&c.MaxSide, "max-side", DefaultMaxSide, "long side of the result in pixels")
	fs.StringVar(&c.Format, "format", "jpg", "result format: jpg or png")
	fs.IntVar(&c.Quality, "quality", DefaultQuality, "JPEG quality, 1-100")
	fs.BoolVar(&c.KeepExt, "keep-ext", false, "name each result after the whole input name (test.webp -> test.webp.jpg); without it test.webp and test.gif become test.jpg and test-1.jpg")
	fs.DurationVar(&c.Poll, "poll", 0, "poll the drop folder at this interval instead of using inotify (0 = inotify; polling is switched on automatically on NFS/CIFS/FUSE)")
	fs.DurationVar(&c.Settle, "settle", DefaultSettle, "take a file only after its size and mtime stayed unchanged this long")
	fs.DurationVar(&c.Grace, "grace", DefaultGrace, "a file that does not decode is retried, not failed, while it changes or is younger than this (writers that pause); 0 fails at once")
	fs.Int64Var(&c.MaxPixels, "max-pixels", DefaultMaxPixels, "refuse images whose header declares more pixels than this")
	fs.Int64Var(&c.MaxBytes, "max-bytes", DefaultMaxBytes, "refuse files larger than this many bytes")
	fs.StringVar(&c.Metrics, "metrics", "", "serve Prometheus /metrics and /healthz on this address, e.g. 127.0.0.1:9120 (default off)")
	fs.StringVar(&c.LogFormat, "log-format", "text", "log format: text or json")
	fs.StringVar(&c.LogLevel, "log-level", "info", "least severe log lines written: debug, info, warn or error")
	c.Backend = backend.Auto
	fs.Var(backend.Flag(&c.Backend), "backend", "inference backend: "+tflite.Names(backend.Choices)+"; auto self-tests each candidate and keeps the fastest correct one")
	fs.StringVar(&c.Delegate, "delegate", "", "TFLite external delegate plugin (.so) to try first (Edge TPU, GPU, Arm NN...)")
	fs.StringVar(&c.Fleet, "fleet", "", "several daemons on one drop folder (hosts sharing it over NFS/SMB): a folder they all share, outside the drop folder, for their claims (default: none, one daemon)")
	fs.StringVar(&c.Instance, "instance", "", "this daemon's id in the fleet, unique among them (default: the host name)")
	fs.DurationVar(&c.Lease, "lease", DefaultLease, "a fleet daemon's claim not refreshed this long is taken over by another")
	fs.StringVar(&c.File, "config", "", "config file with one \"flag = value\" per line")
	return fs
}

// Load parses args (without the subcommand) into a Config: defaults, then
// the config file, then the environment, then the command line. getenv is
// os.LookupEnv outside tests. Load does not validate; call Validate.
// It returns pflag.ErrHelp when --help was asked for.
func Load(fs *pflag.FlagSet, args []string, getenv func(string) (string, bool)) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	onCmdLine := map[string]bool{}
	fs.Visit(func(f *pflag.Flag) { onCmdLine[f.Name] = true })

	// The config file may itself come from the environment.
	file := fs.Lookup("config").Value.String()
	if !onCmdLine["config"] {
		if v, ok := getenv(EnvName("config")); ok {
			file = v
			if err := fs.Set("config", v); err != nil {
				return err
			}
		}
	}
	if file != "" {
		values, err := ReadFile(file)
		if err != nil {
			return err
		}
		for _, kv := range values {
			f := fs.Lookup(kv.Key)
			if f == nil || kv.Key == "config" || kv.Key == "help" {
				return fmt.Errorf("config file %s line %d: unknown setting %q", file, kv.Line, kv.Key)
			}
			if onCmdLine[kv.Key] {
				continue
			}
			if err := fs.Set(kv.Key, kv.Value); err != nil {
				return fmt.Errorf("config file %s line %d: %s = %q: %v", file, kv.Line, kv.Key, kv.Value, err)
			}
		}
	}
	var err error
	fs.VisitAll(func(f *pflag.Flag) {
		if err != nil || onCmdLine[f.Name] || f.Name == "config" || f.Name == "help" {
			return
		}
		if v, ok := getenv(EnvName(f.Name)); ok {
			if e := fs.Set(f.Name, v); e != nil {
				err = fmt.Errorf("environment %s=%q: %v", EnvName(f.Name), v, e)
			}
		}
	})
	return err
}

// checkPrivate refuses a state or fleet folder where uploaders may write:
// the journal, the backend cache and the fleet's claims decide what the
// daemon renames, replaces and loads.
func (c *Config) checkPrivate(flag, path string) error {
	for _, d := range []struct{ flag, path string }{{"watch", c.Watch}, {"out", c.Out}, {"done", c.Done}, {"failed", c.Failed}} {
		if Within(path, d.path) {
			return fmt.Errorf("--%s %s: inside the --%s folder %s, where uploaders may write; give a private folder (the default state is $STATE_DIRECTORY or ~/.local/state/animed)", flag, path, d.flag, d.path)
		}
	}
	return nil
}

// DefaultState is the state folder used when --state is not given:
// $STATE_DIRECTORY (set by systemd's StateDirectory=; the first of several),
// else a folder per drop folder under $XDG_STATE_HOME/animed or
// ~/.local/state/animed, so that two daemons of one user never share a
// journal. watch must be absolute.
func DefaultState(watch string, getenv func(string) (string, bool)) (string, error) {
	if v, ok := getenv("STATE_DIRECTORY"); ok && v != "" {
		first, _, _ := strings.Cut(v, ":")
		return first, nil
	}
	base, ok := getenv("XDG_STATE_HOME")
	if !ok || !filepath.IsAbs(base) {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("--state: not given, and no home folder for the default (%v); set --state", err)
		}
		base = filepath.Join(home, ".local", "state")
	}
	sum := sha256.Sum256([]byte(watch))
	id := durable.Shorten(filepath.Base(watch), 40) + "-" + hex.EncodeToString(sum[:6])
	return filepath.Join(base, "animed", id), nil
}

// Within reports whether path is dir or inside it, comparing the paths
// as given and with symbolic links resolved in the part that exists.
func Within(path, dir string) bool {
	for _, pair := range [][2]string{{path, dir}, {resolve(path), resolve(dir)}} {
		rel, err := filepath.Rel(pair[1], pair[0])
		if err == nil && (rel == "." || (rel != ".." && !strings.HasPrefix(rel, "../"))) {
			return true
		}
	}
	return false
}

// resolve resolves symbolic links in the longest existing head of p.
func resolve(p string) string {
	p = filepath.Clean(p)
	var tail []string
	for {
		if r, err := filepath.EvalSymlinks(p); err == nil {
			return filepath.Join(append([]string{r}, tail...)...)
		}
		parent := filepath.Dir(p)
		if parent == p {
			return filepath.Join(append([]string{p}, tail...)...)
		}
		tail = append([]string{filepath.Base(p)}, tail...)
		p = parent
	}
}

// CheckWritable reports whether this process can create and remove files
// in dir, by doing it; the error names the user it runs as.
func CheckWritable(dir string) error {
	f, err := os.CreateTemp(dir, ".animed-write-check-*")
	if err == nil {
		name := f.Name()
		f.Close()
		if err = os.Remove(name); err == nil {
			return nil
		}
	}
	who := fmt.Sprintf("uid %d", os.Getuid())
	if u, uerr := user.Current(); uerr == nil {
		who = fmt.Sprintf("user %s (uid %s)", u.Username, u.Uid)
	}
	var pe *os.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	return fmt.Errorf("%s cannot write in this folder (%v)", who, err)
}

// ParseLogLevel parses a --log-level: debug, info, warn or error.
func ParseLogLevel(s string) (slog.Level, error) {
	var l slog.Level
	switch s {
	case "debug", "info", "warn", "error":
		return l, l.UnmarshalText([]byte(s))
	}
	return l, errors.New("must be debug, info, warn or error")
}

// EnvName is the environment variable for a flag: max-side -> ANIMED_MAX_SIDE.
func EnvName(flag string) string {
	return EnvPrefix + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

// Setting is one "key = value" line of a config file.
type Setting struct {
	Key, Value string
	Line       int
}

// ReadFile reads a config file: one "flag = value" per line; blank lines and
// lines starting with '#' are ignored, as is " # comment" after an unquoted
// value; values may be quoted.
func ReadFile(path string) ([]Setting, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config file: %w", err)
	}
	s, err := Parse(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("config file %s %w", path, err)
	}
	return s, nil
}

// Parse parses config-file text (see ReadFile).
func Parse(r io.Reader) ([]Setting, error) {
	var out []Setting
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return nil, fmt.Errorf("line %d: want \"flag = value\", got %q", n, line)
		}
		k = strings.TrimPrefix(strings.TrimSpace(k), "--")
		if i := strings.Index(v, " #"); i >= 0 && !strings.ContainsAny(strings.TrimSpace(v)[:1], "\"'") {
			v = v[:i] // a trailing comment
		}
		v = strings.TrimSpace(v)
		if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
			v = v[1 : len(v)-1]
		}
		if k == "" {
			return nil, fmt.Errorf("line %d: missing flag name", n)
		}
		out = append(out, Setting{Key: k, Value: v, Line: n})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read: %w", err)
	}
	return out, nil
}

// Validate checks the configuration, fills in the folder defaults, makes
// the paths absolute and creates the output folders. The error is one
// sentence naming the setting at fault.
func (c *Config) Validate() error {
	if c.Watch == "" {
		return errors.New("--watch is required: name the drop folder")
	}
	if c.Out == "" {
		return errors.New("--out is required: name the folder for the results")
	}
	var err error
	if c.Watch, err = filepath.Abs(c.Watch); err != nil {
		return fmt.Errorf("--watch %s: %v", c.Watch, err)
	}
	st, err := os.Stat(c.Watch)
	if err != nil {
		return fmt.Errorf("--watch %s: the drop folder does not exist or cannot be read (%v)", c.Watch, errors.Unwrap(err))
	}
	if !st.IsDir() {
		return fmt.Errorf("--watch %s: not a folder", c.Watch)
	}
	if resolved, err := filepath.EvalSymlinks(c.Watch); err == nil {
		c.Watch = resolved
	}
	if c.Done == "" {
		c.Done = filepath.Join(c.Watch, "done")
	}
	if c.Failed == "" {
		c.Failed = filepath.Join(c.Watch, "failed")
	}
	if c.Fleet != "" && c.Instance == "" {
		if c.Instance, err = os.Hostname(); err != nil {
			return fmt.Errorf("--instance: not given, and no host name (%v)", err)
		}
	}
	if c.State == "" {
		if c.State, err = DefaultState(c.Watch, os.LookupEnv); err != nil {
			return err
		}
		if c.Fleet != "" {
			c.State += "-" + c.Instance // two daemons of one host, one drop folder
		}
	}
	dirs := []struct {
		flag string
		path *string
	}{{"out", &c.Out}, {"done", &c.Done}, {"failed", &c.Failed}, {"state", &c.State}, {"fleet", &c.Fleet}}
	seen := map[string]string{c.Watch: "watch"}
	for _, d := range dirs {
		if *d.path == "" {
			continue // no --fleet
		}
		if *d.path, err = filepath.Abs(*d.path); err != nil {
			return fmt.Errorf("--%s %s: %v", d.flag, *d.path, err)
		}
		if other, dup := seen[*d.path]; dup {
			return fmt.Errorf("--%s %s: the same folder as --%s; each folder needs its own path", d.flag, *d.path, other)
		}
		seen[*d.path] = d.flag
		perm := os.FileMode(0o755)
		if d.flag == "state" || d.flag == "fleet" {
			if err := c.checkPrivate(d.flag, *d.path); err != nil {
				return err
			}
			perm = 0o700
		}
		if d.flag == "fleet" {
			perm = 0o770 // shared by the daemons' group
		}
		if err := os.MkdirAll(*d.path, perm); err != nil {
			return fmt.Errorf("--%s %s: cannot create the folder (%v)", d.flag, *d.path, errors.Unwrap(err))
		}
		if st, err := os.Stat(*d.path); err != nil || !st.IsDir() {
			return fmt.Errorf("--%s %s: not a folder", d.flag, *d.path)
		}
		// Folders the operator named may be reached through symbolic
		// links; done/ and failed/ inside the drop folder may not, as
		// uploaders can replace them (the pipeline refuses links there).
		if !Within(*d.path, c.Watch) {
			if resolved, err := filepath.EvalSymlinks(*d.path); err == nil {
				*d.path = resolved
			}
		}
	}
	// The daemon creates files in each folder and moves originals out of
	// the drop folder: find out now, not at the first photo.
	for _, d := range append([]struct {
		flag string
		path *string
	}{{"watch", &c.Watch}}, dirs...) {
		if *d.path == "" {
			continue // no --fleet
		}
		if err := CheckWritable(*d.path); err != nil {
			return fmt.Errorf("--%s %s: %v", d.flag, *d.path, err)
		}
	}
	if c.Model != "" {
		if st, err := os.Stat(c.Model); err != nil || !st.Mode().IsRegular() {
			return fmt.Errorf("--model %s: no such model file", c.Model)
		}
	}
	switch {
	case c.Threads < 1:
		return fmt.Errorf("--threads %d: must be at least 1", c.Threads)
	case c.Tile < 64*64 || c.Tile > 1<<26:
		return fmt.Errorf("--tile-pixels %d: must be between 4096 (64x64) and 67108864", c.Tile)
	case c.MaxSide < 16 || c.MaxSide > 16384:
		return fmt.Errorf("--max-side %d: must be between 16 and 16384 pixels", c.MaxSide)
	case c.Format != "jpg" && c.Format != "jpeg" && c.Format != "png":
		return fmt.Errorf("--format %q: must be jpg or png", c.Format)
	case c.Quality < 1 || c.Quality > 100:
		return fmt.Errorf("--quality %d: must be between 1 and 100", c.Quality)
	case c.Poll < 0:
		return fmt.Errorf("--poll %s: must not be negative", c.Poll)
	case c.Poll > 0 && c.Poll < 10*time.Millisecond:
		return fmt.Errorf("--poll %s: must be at least 10ms", c.Poll)
	case c.Settle < 0:
		return fmt.Errorf("--settle %s: must not be negative", c.Settle)
	case c.Fleet != "" && fleet.CheckInstance(c.Instance) != nil:
		return fmt.Errorf("--instance %q: use 1-64 letters, digits, '.', '_' or '-'", c.Instance)
	case c.Fleet != "" && c.Lease < time.Second:
		return fmt.Errorf("--lease %s: must be at least 1s", c.Lease)
	case c.Grace < 0:
		return fmt.Errorf("--grace %s: must not be negative", c.Grace)
	case c.MaxPixels < 1:
		return fmt.Errorf("--max-pixels %d: must be positive", c.MaxPixels)
	case c.MaxBytes < 1:
		return fmt.Errorf("--max-bytes %d: must be positive", c.MaxBytes)
	case c.LogFormat != "text" && c.LogFormat != "json":
		return fmt.Errorf("--log-format %q: must be text or json", c.LogFormat)
	case c.Backend == backend.External && c.Delegate == "":
		return fmt.Errorf("--backend external needs --delegate PATH")
	}
	if c.Delegate != "" {
		if st, err := os.Stat(c.Delegate); err != nil || !st.Mode().IsRegular() {
			return fmt.Errorf("--delegate %s: no such plugin file", c.Delegate)
		}
	}
	if _, err := ParseLogLevel(c.LogLevel); err != nil {
		return fmt.Errorf("--log-level %q: %v", c.LogLevel, err)
	}
	if c.Metrics != "" {
		if _, _, err := net.SplitHostPort(c.Metrics); err != nil {
			return fmt.Errorf("--metrics %q: want HOST:PORT, e.g. 127.0.0.1:9120", c.Metrics)
		}
	}
	return nil
}
