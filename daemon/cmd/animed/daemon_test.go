package main

import (
	"os"
	"os/exec"
	"syscall"
	"testing"
)

// daemon is an `animed run` child whose log (stdout and stderr) the test
// reads while it runs.
type daemon struct {
	cmd  *exec.Cmd
	log  *lockedBuffer
	done chan error
}

// runDaemon starts `animed run args...`. At the end of the test it is
// killed if still running, and if the test failed its log goes to the
// test's log: a failed end-to-end test always shows what the daemon said.
func runDaemon(t *testing.T, args ...string) *daemon {
	t.Helper()
	d := &daemon{cmd: exec.Command(buildAnimed(t), append([]string{"run"}, args...)...), log: &lockedBuffer{},
		done: make(chan error, 1)}
	d.cmd.Stdout, d.cmd.Stderr = d.log, d.log
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { d.done <- d.cmd.Wait() }()
	t.Cleanup(func() {
		d.cmd.Process.Signal(syscall.SIGKILL)
		<-d.done
		d.done <- nil // for a stop after this
		if t.Failed() {
			b := d.log.String()
			t.Logf("log of animed run %v (last 8000 bytes):\n%s", args, b[max(0, len(b)-8000):])
		}
	})
	return d
}

// stop sends sig and waits for the daemon to exit.
func (d *daemon) stop(sig os.Signal) error {
	d.cmd.Process.Signal(sig)
	err := <-d.done
	d.done <- err
	return err
}
