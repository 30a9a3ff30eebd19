package metrics_test

import (
	"bufio"
	"bytes"
	"fmt"
	"strings"
	"time"

	"github.com/animed/animed/daemon/metrics"
)

func ExampleMetrics_WriteTo() {
	m := metrics.New()
	m.Processed()
	m.Observe("infer", 40*time.Millisecond)
	var b bytes.Buffer
	m.WriteTo(&b)
	sc := bufio.NewScanner(&b)
	for sc.Scan() {
		if l := sc.Text(); strings.HasPrefix(l, "animed_photos") || strings.Contains(l, "_count") {
			fmt.Println(l)
		}
	}
	// Output:
	// animed_photos_processed_total 1
	// animed_photos_failed_total 0
	// animed_stage_seconds_count{stage="infer"} 1
}
