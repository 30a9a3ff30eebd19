// Package bench measures models and the photo pipeline the way a user
// choosing a model would: size, parameters and MACs read from the .tflite
// file; load time, latency (median and p90, warm-up excluded, each
// measurement capped by time and by run count) and peak RSS, each row in a
// fresh child process so memory numbers do not mix; end-to-end photos per
// second with a per-stage breakdown; and student-vs-teacher quality.
//
// Run drives the table behind `animed bench`. The child side of the
// re-exec is ChildMain: a binary that calls Run must dispatch its hidden
// ChildCommand argument to ChildMain.
package bench
