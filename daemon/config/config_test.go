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

func TestValidateFillsDefaults(t *testing.T) {
	dir := t.TempDir()
	var c Config
	if err := Load(c.FlagSet(), []string{"--watch", dir, "--out", filepath.Join(dir, "..", filepath.Base(dir)+"-out")}, func(string) (string, bool) { return "", false }); err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.Done != filepath.Join(dir, "done") || c.Failed != filepath.Join(dir, "failed") || c.State != filepath.Join(dir, ".animed") {
		t.Errorf("defaults: done %s failed %s state %s", c.Done, c.Failed, c.State)
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
