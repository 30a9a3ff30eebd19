// Package models holds the models that ship inside the animed binary.
//
// The default model is AnimeGAN-Tiny v2, fully INT8 with int8 input and
// output, at the fixed path models/animegan_tiny_int8.tflite: distilled from
// AnimeGANv2 (Hayao) by the recipe in models/distill (`make distill`) and
// converted by `make model`; see models/MODEL_CARD.md (non-commercial
// licence inherited from the teacher). The model it replaced, v1, is kept
// in models/previous for the benchmarks' comparison rows.
// Tests that need a tiny model build one with internal/testmodel.
package models

import (
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
)

//go:embed animegan_tiny_int8.tflite
var defaultModel []byte

// defaultName names the embedded default model in logs and result files.
const defaultName = "animegan-tiny-v2-int8"

// Default returns the embedded default model's .tflite bytes. Callers must
// not modify the slice.
func Default() []byte { return defaultModel }

// DefaultName returns a short human name of the embedded default model.
func DefaultName() string { return defaultName }

// DefaultSHA256 returns the hex sha256 of the embedded default model, for
// caches keyed by model.
func DefaultSHA256() string {
	sum := sha256.Sum256(defaultModel)
	return hex.EncodeToString(sum[:])
}
