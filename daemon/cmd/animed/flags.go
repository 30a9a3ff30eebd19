package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/spf13/pflag"
)

// parseFlags parses the flags of the subcommand fs.Name() the same way for
// every subcommand: --help writes head and the flags to stdout (exit 0); an
// unknown flag or bad syntax writes the error, head and the flags to stderr
// (exit 2); a bad value writes one line naming it (exit 2). ok is false when
// the command should return code without running.
func parseFlags(fs *pflag.FlagSet, head string, args []string, stdout, stderr io.Writer) (code int, ok bool) {
	fs.SetOutput(io.Discard) // the errors are written here, once
	fs.Usage = func() {}
	if err := fs.Parse(args); err != nil {
		return flagError(fs, head, err, stdout, stderr), false
	}
	return 0, true
}

// flagError reports an error of fs.Parse (or of a loader around it, such as
// config.Load) and returns the exit code.
func flagError(fs *pflag.FlagSet, head string, err error, stdout, stderr io.Writer) int {
	if errors.Is(err, pflag.ErrHelp) {
		writeUsage(stdout, fs, head)
		return 0
	}
	fmt.Fprintf(stderr, "animed %s: %v\n", fs.Name(), err)
	var notExist *pflag.NotExistError
	var syntax *pflag.InvalidSyntaxError
	if errors.As(err, &notExist) || errors.As(err, &syntax) {
		fmt.Fprintln(stderr)
		writeUsage(stderr, fs, head)
	}
	return 2
}

// writeUsage writes head, a blank line and the flags.
func writeUsage(w io.Writer, fs *pflag.FlagSet, head string) {
	fmt.Fprintf(w, "%s\n\nFlags:\n%s", head, fs.FlagUsages())
}
