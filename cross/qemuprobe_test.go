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
// linked arm64 program that creates a thread. Some hosts' qemu-user 7.2
// (Debian 12) spins forever in glibc 2.36's first pthread_create (seen on a
// 6.18 host kernel: a five-line C program never returns, while static and
// pure-Go binaries run), and every cgo binary, animed included, creates
// threads at start. Without this check such a host hangs the test until
// go test's deadline instead of saying why.
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
