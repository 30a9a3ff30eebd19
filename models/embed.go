// Package models holds the models that ship inside the animed binary.
//
// The default model is AnimeGAN-Tiny, fully INT8, at the fixed path
// models/animegan_tiny_int8.tflite. Until the distilled model lands, a small
// generated stand-in (internal/testmodel) stands at that path: it runs like
// the real one but only perturbs colours; DefaultName tells which it is.
// The distillation recipe lives in models/distill and the model card in
// models/MODEL_CARD.md.
package models

import (
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
)

//go:generate go run ../internal/testmodel/cmd/standin animegan_tiny_int8.tflite

//go:embed animegan_tiny_int8.tflite
var defaultModel []byte

// defaultName names the embedded default model in logs and result files.
const defaultName = "animegan-tiny-int8 (stand-in)"

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
