// Command probecmd prints hw.Probe's report, as `animed probe` does. The
// tests build it for arm64 and run it under qemu-aarch64.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/animed/animed/hw"
)

func main() {
	root := flag.String("root", "/", "probe the /proc and /sys tree under this folder")
	arch := flag.String("arch", "", "architecture to report for (default: this binary's)")
	watch := flag.String("watch", "", "watch folder whose filesystem to report")
	delegate := flag.String("delegate", "", "external delegate plugin to check")
	asJSON := flag.Bool("json", false, "print JSON")
	flag.Parse()
	r := hw.Probe(context.Background(), hw.Options{Root: *root, Arch: *arch, WatchDir: *watch, Delegate: *delegate})
	if *asJSON {
		if err := r.WriteJSON(os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		return
	}
	if err := r.WriteText(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
