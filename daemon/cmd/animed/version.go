package main

import (
	"fmt"
	"io"

	"github.com/animed/animed/internal/tflite"
	"github.com/animed/animed/models"
)

func versionCommand(args []string, stdout, stderr io.Writer) int {
	if len(args) == 1 && (args[0] == "--help" || args[0] == "-h") {
		fmt.Fprintln(stdout, "Usage: animed version (or animed --version, animed -v)\n\nPrints the versions of animed, TensorFlow Lite and the default model.")
		return 0
	}
	if len(args) > 0 {
		fmt.Fprintln(stderr, "animed version: takes no arguments")
		return 2
	}
	fmt.Fprintf(stdout, "animed %s\nTensorFlow Lite %s\ndefault model %s (sha256 %s)\n",
		versionString(), tflite.Version(), models.DefaultName(), models.DefaultSHA256()[:16])
	return 0
}
