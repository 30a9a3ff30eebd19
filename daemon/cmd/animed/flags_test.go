package main

import (
	"bytes"
	"strings"
	"testing"
)

// Every subcommand treats --help, unknown flags and bad syntax alike:
// help on stdout with exit 0; the error and the usage on stderr with exit 2.
func TestFlagsHelpAndErrors(t *testing.T) {
	tests := []struct {
		args           []string
		code           int
		stdout, stderr string // substrings; "" = must be empty
		stderrHasUsage bool
	}{
		{[]string{"convert", "--max-sid", "5", "a", "b"}, 2, "", "unknown flag: --max-sid", true},
		{[]string{"probe", "--jsn"}, 2, "", "unknown flag: --jsn", true},
		{[]string{"bench", "--sizess", "3"}, 2, "", "unknown flag: --sizess", true},
		{[]string{"run", "--wach", "x"}, 2, "", "unknown flag: --wach", true},
		{[]string{"convert", "-x", "a", "b"}, 2, "", "unknown shorthand flag: 'x'", true},
		{[]string{"convert", "--max-side", "big", "a", "b"}, 2, "", `invalid argument "big"`, false},
		{[]string{"convert", "--help"}, 0, "Usage: animed convert", "", false},
		{[]string{"bench", "--help"}, 0, "Usage: animed bench", "", false},
		{[]string{"probe", "--help"}, 0, "Usage: animed probe", "", false},
		{[]string{"run", "--help"}, 0, "Usage: animed run", "", false},
		{[]string{"--help"}, 0, "Usage: animed COMMAND", "", false},
		{[]string{"--version"}, 0, "TensorFlow Lite", "", false},
		{[]string{"-v"}, 0, "TensorFlow Lite", "", false},
		{[]string{"version", "--help"}, 0, "Usage: animed version", "", false},
		{[]string{"version", "extra"}, 2, "", "takes no arguments", false},
		{[]string{"frobnicate"}, 2, "", "unknown command", false},
		{nil, 2, "", "Usage: animed COMMAND", false},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := dispatch(tt.args, &stdout, &stderr)
			if code != tt.code {
				t.Errorf("exit %d, want %d", code, tt.code)
			}
			for _, c := range []struct {
				name, got, want string
			}{{"stdout", stdout.String(), tt.stdout}, {"stderr", stderr.String(), tt.stderr}} {
				if c.want == "" && c.got != "" {
					t.Errorf("%s not empty:\n%s", c.name, c.got)
				}
				if !strings.Contains(c.got, c.want) {
					t.Errorf("%s lacks %q:\n%s", c.name, c.want, c.got)
				}
			}
			if hasUsage := strings.Contains(stderr.String(), "Flags:\n"); hasUsage != tt.stderrHasUsage {
				t.Errorf("usage on stderr: %v, want %v:\n%s", hasUsage, tt.stderrHasUsage, stderr.String())
			}
		})
	}
}
