package backend

import (
	"strings"
	"testing"

	"github.com/spf13/pflag"

	"github.com/animed/animed/internal/tflite"
)

func TestParse(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want tflite.Backend
		err  string
	}{
		{"auto", Auto, ""},
		{"cpu", CPU, ""},
		{"xnnpack", XNNPACK, ""},
		{"external", External, ""},
		{"gpu", "", `unknown backend "gpu": want one of auto, xnnpack, cpu, external`},
		{"XNNPACK", "", "unknown backend"},
		{"", "", "unknown backend"},
	} {
		got, err := Parse(tt.in)
		if got != tt.want || (err == nil) != (tt.err == "") || err != nil && !strings.Contains(err.Error(), tt.err) {
			t.Errorf("Parse(%q) = %q, %v; want %q, %q", tt.in, got, err, tt.want, tt.err)
		}
	}
	// tflite's own parser refuses the choice "auto".
	if _, err := tflite.ParseBackend("auto"); err == nil {
		t.Error(`tflite.ParseBackend("auto") accepted`)
	}
}

func TestFlag(t *testing.T) {
	b := Auto
	fs := pflag.NewFlagSet("x", pflag.ContinueOnError)
	fs.Var(Flag(&b), "backend", "")
	if err := fs.Parse([]string{"--backend", "cpu"}); err != nil || b != CPU {
		t.Errorf("--backend cpu: %q, %v", b, err)
	}
	if err := fs.Parse([]string{"--backend", "tpu"}); err == nil || b != CPU {
		t.Errorf("--backend tpu: %q, %v; want an error and cpu kept", b, err)
	}
}
