package hw_test

import (
	"context"
	"fmt"

	"github.com/animed/animed/hw"
)

// Probing a Raspberry Pi 4 from its /proc and /sys tree (a test fixture
// here; "/" on the board itself).
func ExampleProbe() {
	r := hw.Probe(context.Background(), hw.Options{
		Root:     "testdata/fixtures/pi4",
		Arch:     "arm64",
		WatchDir: "/srv/photos/incoming",
	})
	fmt.Println(r.Board.Model)
	fmt.Println(r.CPU.Model, r.CPU.Features)
	fmt.Printf("cgroup v%d: %.0f CPUs quota, %d MiB max -> %d threads\n",
		r.Cgroup.Version, r.Cgroup.CPUQuota, r.Cgroup.MemoryMaxBytes>>20, r.Cgroup.CPUs)
	fmt.Printf("%.1f°C\n", r.Thermal.MaxTempC)
	fmt.Printf("watch folder on %s, inotify usable: %v\n", r.Watch.Type, r.Watch.Events)
	// Output:
	// Raspberry Pi 4 Model B Rev 1.5
	// Arm Cortex-A72 [asimd]
	// cgroup v2: 2 CPUs quota, 512 MiB max -> 2 threads
	// 82.4°C
	// watch folder on cifs, inotify usable: false
}
