// Command animed turns photos into anime-style pictures on the device.
//
//	animed run --watch DIR --out DIR [flags]   the drop-folder daemon
//	animed convert [flags] IN OUT              one photo, same pipeline
//	animed version                             (or animed --version, -v)
//	animed probe [--json]                      hardware and accelerators
//	animed bench [flags]                       measure models on this machine
//
// This file only dispatches; each subcommand wires its flags to packages
// in its own file (run.go, convert.go, ...). A new subcommand adds itself
// to commands.
package main

import (
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"sort"

	"github.com/animed/animed/hw/selftest"
	"github.com/animed/animed/internal/bench"
)

// version is set at link time (-ldflags "-X main.version=...").
var version = ""

type command struct {
	summary string
	run     func(args []string, stdout, stderr io.Writer) int
}

func commands() map[string]command {
	return map[string]command{
		"run":     {"watch a drop folder and style every photo put there", runCommand},
		"convert": {"style one photo: animed convert [--model PATH] [--max-side PX] IN OUT", convertCommand},
		"version": {"print the version of animed, TFLite and the default model", versionCommand},
		"probe":   {"report the hardware and accelerators: animed probe [--json] [--watch DIR] [--delegate PATH]", probeCommand},
		"bench":   {"measure models on this machine: animed bench [--models default,PATH...] [--sizes 256,512,1024] [--json]", benchCommand},
	}
}

// hidden are subcommands animed runs in its own child processes; usage does
// not list them.
func hidden() map[string]command {
	return map[string]command{
		selftest.Command:   {"", selftestCommand},
		bench.ChildCommand: {"", benchChildCommand},
	}
}

func main() {
	os.Exit(dispatch(os.Args[1:], os.Stdout, os.Stderr))
}

func dispatch(args []string, stdout, stderr io.Writer) int {
	cmds := commands()
	if len(args) == 0 {
		usage(stderr, cmds)
		return 2
	}
	if args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(stdout, cmds)
		return 0
	}
	if args[0] == "--version" || args[0] == "-v" {
		return versionCommand(args[1:], stdout, stderr)
	}
	c, ok := cmds[args[0]]
	if !ok {
		c, ok = hidden()[args[0]]
	}
	if !ok {
		fmt.Fprintf(stderr, "animed: unknown command %q (try animed help)\n", args[0])
		return 2
	}
	return c.run(args[1:], stdout, stderr)
}

func usage(w io.Writer, cmds map[string]command) {
	fmt.Fprintln(w, "animed: photo-to-anime styling on the device\n\nUsage: animed COMMAND [flags]\n\nCommands:")
	names := make([]string, 0, len(cmds))
	for n := range cmds {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-8s %s\n", n, cmds[n].summary)
	}
	fmt.Fprintln(w, "\nRun animed COMMAND --help for the flags of a command.")
}

func versionString() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		rev, dirty := "", ""
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				if s.Value == "true" {
					dirty = "-dirty"
				}
			}
		}
		if len(rev) > 12 {
			rev = rev[:12]
		}
		if rev != "" {
			return "0.0.0-dev+" + rev + dirty
		}
	}
	return "0.0.0-dev"
}
