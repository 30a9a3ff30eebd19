package metrics

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestExposition(t *testing.T) {
	m := New()
	m.Processed()
	m.Processed()
	m.Failed()
	m.SetQueue(func() int { return 7 })
	m.Observe("infer", 30*time.Millisecond)
	m.Observe("infer", 3*time.Second)
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	res, err := srv.Client().Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	for _, want := range []string{
		"animed_photos_processed_total 2\n",
		"animed_photos_failed_total 1\n",
		"animed_queue_depth 7\n",
		`animed_stage_seconds_bucket{stage="infer",le="0.05"} 1` + "\n",
		`animed_stage_seconds_bucket{stage="infer",le="5"} 2` + "\n",
		`animed_stage_seconds_bucket{stage="infer",le="+Inf"} 2` + "\n",
		`animed_stage_seconds_count{stage="infer"} 2` + "\n",
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %q:\n%s", want, body)
		}
	}
	res, err = srv.Client().Get(srv.URL + "/healthz")
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("/healthz: %v %v", err, res)
	}
}
