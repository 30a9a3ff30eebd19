package selftest_test

import (
	"context"
	"fmt"

	"github.com/animed/animed/hw/selftest"
	"github.com/animed/animed/internal/testmodel"
	"github.com/animed/animed/internal/tflite"
)

// Run measures one candidate in this process; hw/backend does the same
// through `animed selftest` in a child process and compares outputs.
func ExampleRun() {
	res, err := selftest.Run(context.Background(), selftest.Request{
		Model:   testmodel.Int8(),
		Backend: tflite.BackendCPU,
		Threads: 1,
		Runs:    2,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	out, _ := res.Floats()
	fmt.Println(res.Actual, res.Shape, len(out), len(res.RunMs), res.Stage)
	// Output: cpu [1 64 64 3] 12288 2 done
}
