// Package bench measures models on this machine the way a user choosing a
// model would: size, parameters and MACs read from the .tflite file; load
// time, latency (median and p90, warm-up excluded, each measurement capped
// by time and by run count) and peak RSS, each row in a fresh child process
// so memory numbers do not mix.
//
// It is what `animed bench` needs and links nothing more: Run drives its
// table. The child side of the re-exec is ChildMain: a binary that calls
// Run must dispatch its hidden ChildCommand argument to ChildMain. The
// reports, quality metrics, contact sheets and end-to-end measurements of
// `make bench` are in the top-level package bench (bench/), beside run.sh.
package bench
