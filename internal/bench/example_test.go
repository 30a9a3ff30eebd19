package bench_test

import (
	"fmt"
	"time"

	"github.com/animed/animed/internal/bench"
	"github.com/animed/animed/internal/testmodel"
)

func ExampleModelStats() {
	// The 64x64 test model, counted at 256x256: a 3x3 conv 3->8 and a 1x1
	// conv 8->3 at every pixel.
	st, err := bench.ModelStats(testmodel.Int8(), 256, 256)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("params:", st.Params)
	fmt.Println("MACs:", bench.HumanCount(st.MACs), st.MACsByOp)
	// Output:
	// params: 251
	// MACs: 15.73M map[CONV_2D:15728640]
}

func ExampleSummarize() {
	var runs []time.Duration
	for _, ms := range []int{12, 10, 11, 30, 10} {
		runs = append(runs, time.Duration(ms)*time.Millisecond)
	}
	l := bench.Summarize(runs)
	fmt.Printf("median %.0f ms, p90 %.0f ms over %d runs\n", l.Median, l.P90, l.Runs)
	// Output: median 11 ms, p90 30 ms over 5 runs
}
