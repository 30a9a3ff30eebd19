package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPrecedence(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "animed.conf")
	os.WriteFile(conf, []byte("# kiosk\n\nmax-side = 512\nquality = 70\n--format = \"png\"\nsettle=2s\nmax-bytes = 1000   # a trailing comment\nwatch = \"/srv/drop #1\"\n"), 0o644)
	env := map[string]string{"ANIMED_QUALITY": "80", "ANIMED_SETTLE": "3s", "ANIMED_CONFIG": conf}
	getenv := func(k string) (string, bool) { v, ok := env[k]; return v, ok }

	var c Config
	if err := Load(c.FlagSet(), []string{"--settle", "4s"}, getenv); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		got  any
		want any
	}{
		{"file only", c.MaxSide, 512},
		{"file, quoted", c.Format, "png"},
		{"env over file", c.Quality, 80},
		{"command line over env", c.Settle.String(), "4s"},
		{"default", c.MaxPixels, int64(DefaultMaxPixels)},
		{"config from env", c.File, conf},
		{"trailing comment", c.MaxBytes, 1000},
		{"quoted value with #", c.Watch, "/srv/drop #1"},
	}
	for _, tt := range tests {
		if fmt.Sprint(tt.got) != fmt.Sprint(tt.want) {
			t.Errorf("%s: got %v, want %v", tt.name, tt.got, tt.want)
		}
	}
}

// privateState points the default state folder into the test's own
// temporary folder.
func privateState(t *testing.T) string {
	t.Helper()
	xdg := t.TempDir()
	t.Setenv("STATE_DIRECTORY", "")
	t.Setenv("XDG_STATE_HOME", xdg)
	return xdg
}

func TestValidateFillsDefaults(t *testing.T) {
	xdg := privateState(t)
	dir := t.TempDir()
	var c Config
	if err := Load(c.FlagSet(), []string{"--watch", dir, "--out", filepath.Join(dir, "..", filepath.Base(dir)+"-out")}, func(string) (string, bool) { return "", false }); err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.Done != filepath.Join(dir, "done") || c.Failed != filepath.Join(dir, "failed") || filepath.Dir(c.State) != filepath.Join(xdg, "animed") {
		t.Errorf("defaults: done %s failed %s state %s", c.Done, c.Failed, c.State)
	}
	if st, err := os.Stat(c.State); err != nil || st.Mode().Perm() != 0o700 {
		t.Errorf("state folder %s: %v, want mode 0700", c.State, st.Mode())
	}
	for _, d := range []string{c.Out, c.Done, c.Failed, c.State} {
		if st, err := os.Stat(d); err != nil || !st.IsDir() {
			t.Errorf("%s not created", d)
		}
	}
	if c.Threads < 1 {
		t.Errorf("threads default %d", c.Threads)
	}
}

func TestParseErrors(t *testing.T) {
	for _, in := range []string{"max-side 512", "= 3"} {
		if _, err := Parse(strings.NewReader(in)); err == nil || !strings.Contains(err.Error(), "line 1") {
			t.Errorf("Parse(%q) = %v, want an error naming line 1", in, err)
		}
	}
}

func ExampleParse() {
	s, _ := Parse(strings.NewReader("# /etc/animed/animed.conf\nwatch = /var/lib/animed/drop\nmax-side = 768\n"))
	for _, kv := range s {
		fmt.Printf("line %d: --%s=%s (or %s)\n", kv.Line, kv.Key, kv.Value, EnvName(kv.Key))
	}
	// Output:
	// line 2: --watch=/var/lib/animed/drop (or ANIMED_WATCH)
	// line 3: --max-side=768 (or ANIMED_MAX_SIDE)
}

// The example shipped as /etc/animed/animed.conf must stay loadable.
func TestShippedExample(t *testing.T) {
	var c Config
	fs := c.FlagSet()
	err := Load(fs, []string{"--config", "../../systemd/animed.conf"}, func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	if c.Watch != "/var/lib/animed/drop" || c.State != "/var/lib/animed/state" {
		t.Fatalf("loaded %+v", c)
	}
}

func TestValidateRanges(t *testing.T) {
	privateState(t)
	for _, tt := range []struct {
		args []string
		want string // "" = valid
	}{
		{nil, ""},
		{[]string{"--tile-pixels", "262144"}, ""},
		{[]string{"--tile-pixels", "4095"}, "--tile-pixels 4095"},
		{[]string{"--tile-pixels", "0"}, "--tile-pixels 0"},
		{[]string{"--threads", "0"}, "--threads 0"},
		{[]string{"--max-side", "8"}, "--max-side 8"},
		{[]string{"--quality", "101"}, "--quality 101"},
	} {
		dir := t.TempDir()
		var c Config
		args := append([]string{"--watch", dir, "--out", filepath.Join(dir, "out")}, tt.args...)
		if err := Load(c.FlagSet(), args, func(string) (string, bool) { return "", false }); err != nil {
			t.Fatal(err)
		}
		err := c.Validate()
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%v: %v", tt.args, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("%v: error %v, want one about %q", tt.args, err, tt.want)
		}
	}
}

// TestStateNeverWhereUploadersWrite: the journal and the backend cache
// decide what the daemon renames and loads, so they must not live in the
// drop folder (the old default was WATCH/.animed) or its done/failed.
func TestStateNeverWhereUploadersWrite(t *testing.T) {
	xdg := privateState(t)
	root := t.TempDir()
	watch := filepath.Join(root, "drop")
	os.Mkdir(watch, 0o770)
	link := filepath.Join(root, "link")
	os.Symlink(watch, link)
	for _, tt := range []struct {
		name string
		env  map[string]string
		args []string
		want string // state folder, or the error's text
		err  bool
	}{
		{"default", nil, nil, filepath.Join(xdg, "animed"), false},
		{"systemd", map[string]string{"STATE_DIRECTORY": filepath.Join(root, "sd") + ":" + filepath.Join(root, "other")}, nil, filepath.Join(root, "sd"), false},
		{"inside watch", nil, []string{"--state", filepath.Join(watch, ".animed")}, "inside the --watch folder", true},
		{"watch itself", nil, []string{"--state", watch}, "the same folder as --watch", true},
		{"through a link", nil, []string{"--state", filepath.Join(link, "st")}, "inside the --watch folder", true},
		{"inside done", nil, []string{"--done", filepath.Join(root, "done"), "--state", filepath.Join(root, "done", "st")}, "inside the --done folder", true},
		{"elsewhere", nil, []string{"--state", filepath.Join(root, "st")}, filepath.Join(root, "st"), false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			var c Config
			args := append([]string{"--watch", watch, "--out", filepath.Join(root, "out")}, tt.args...)
			if err := Load(c.FlagSet(), args, func(string) (string, bool) { return "", false }); err != nil {
				t.Fatal(err)
			}
			err := c.Validate()
			switch {
			case tt.err && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("Validate = %v (state %s), want an error about %q", err, c.State, tt.want)
			case tt.err:
				if _, serr := os.Stat(filepath.Join(watch, ".animed")); serr == nil {
					t.Errorf("a refused state folder was created")
				}
			case err != nil:
				t.Fatal(err)
			case !Within(c.State, tt.want):
				t.Fatalf("state %s, want under %s", c.State, tt.want)
			case Within(c.State, watch):
				t.Fatalf("state %s is inside the drop folder", c.State)
			}
		})
	}
}

// FuzzParse: any config text parses or fails with an error naming a line;
// every setting read back has a non-empty key without '='.
func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		"", "# c\n", "max-side = 512\n", "--format = \"png\"\n", "watch = '/srv/a #1'\n",
		"max-bytes = 1000   # trailing\n", "= 3\n", "novalue\n", "k = \"\n", "a=b=c\r\n\x00=\xff\n",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, text string) {
		settings, err := Parse(strings.NewReader(text))
		if err != nil {
			if !strings.Contains(err.Error(), "line ") && !strings.Contains(err.Error(), "read") {
				t.Fatalf("error %q names no line", err)
			}
			return
		}
		for _, s := range settings {
			if s.Key == "" || strings.Contains(s.Key, "=") || s.Line < 1 {
				t.Fatalf("bad setting %+v from %q", s, text)
			}
		}
	})
}

func TestCheckWritable(t *testing.T) {
	if err := CheckWritable(t.TempDir()); err != nil {
		t.Errorf("a fresh temp folder: %v", err)
	}
	// /proc refuses new files even to root.
	err := CheckWritable("/proc")
	if err == nil || !strings.Contains(err.Error(), "cannot write in this folder") || !strings.Contains(err.Error(), fmt.Sprintf("uid %d", os.Getuid())) {
		t.Errorf("CheckWritable(/proc) = %v, want an error naming the user", err)
	}
}
