// Command standin writes the generated stand-in for the embedded default
// model: the testmodel INT8 network at 256x256. It is replaced by the
// distilled AnimeGAN-Tiny once that model exists (see models/MODEL_CARD.md).
package main

import (
	"fmt"
	"os"

	"github.com/animed/animed/internal/testmodel"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: standin OUT.tflite")
		os.Exit(2)
	}
	data, err := testmodel.Build(testmodel.Config{H: 256, W: 256, Int8: true})
	if err == nil {
		err = os.WriteFile(os.Args[1], data, 0o644)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "standin:", err)
		os.Exit(1)
	}
}
