package cross

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// threadProbe is the smallest program that does what every cgo binary does at
// start: create a thread through the dynamically linked glibc.
const threadProbe = `#include <pthread.h>
#include <stdio.h>
static void *run(void *arg) { return arg; }
int main(void) {
	pthread_t t;
	if (pthread_create(&t, 0, run, 0) != 0 || pthread_join(t, 0) != 0) return 1;
	puts("ok");
	return 0;
}
`

// needWorkingQemu skips the test when qemu-aarch64 cannot run a dynamically
// linked arm64 program that creates a thread, and says why. Seen here: with
// Debian's arm64 multiarch libc6 installed (a newer build than
// libc6-arm64-cross's loader), qemu-aarch64 -L /usr/aarch64-linux-gnu paired
// the cross loader with the multiarch libc and every program spun forever in
// its first pthread_create; `make deps-arm64` links the cross libc into the
// sysroot's multiarch path to prevent that. Every cgo binary, animed
// included, creates threads at start, so without this check a broken
// sysroot hangs the test until go test's deadline.
func needWorkingQemu(t *testing.T, sysroot string) {
	t.Helper()
	dir := t.TempDir()
	src, bin := filepath.Join(dir, "probe.c"), filepath.Join(dir, "probe")
	if err := os.WriteFile(src, []byte(threadProbe), 0o644); err != nil {
		t.Fatal(err)
	}
	if b, err := exec.Command(crossCC, "-o", bin, src, "-lpthread").CombinedOutput(); err != nil {
		t.Fatalf("%s thread probe: %v\n%s", crossCC, err, b)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, qemu, "-L", sysroot, bin)
	cmd.WaitDelay = time.Second
	out, err := cmd.CombinedOutput()
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		t.Skipf("skipping: %s on this host hangs in glibc's pthread_create for a dynamically linked arm64 program "+
			"(a five-line C probe did not finish in 30 s); arm64 binaries cannot be run here", qemu)
	}
	if err != nil || string(out) != "ok\n" {
		t.Fatalf("%s thread probe: %v\n%s", qemu, err, out)
	}
}
