// Package bench is the `make bench` side of the measurements (bench/run.sh
// drives it through cmd/benchmodel): the photo pipeline end to end with a
// per-stage breakdown (EndToEnd), the daemon itself (Daemon), student
// against teacher quality with a contact sheet (Quality), and the Markdown
// report with its goals (WriteReport, REPORT.md). The per-model table comes
// from internal/bench, the part `animed bench` links; this package adds the
// fonts and image code the daemon binary does not need.
package bench
