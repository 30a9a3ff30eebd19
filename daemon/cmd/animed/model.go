package main

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/animed/animed/hw/backend"
	"github.com/animed/animed/internal/stylize"
	"github.com/animed/animed/internal/tflite"
	"github.com/animed/animed/models"
)

// loadStylizer loads the model at path (the embedded default when path is
// "") and builds its interpreter. It returns the model's name for logs and
// result comments.
func loadStylizer(path string, o stylize.Options) (*stylize.Stylizer, string, error) {
	var (
		data []byte
		name string
		err  error
	)
	if path == "" {
		data, name = models.Default(), models.DefaultName()
	} else {
		data, err = os.ReadFile(path)
		name = filepath.Base(path)
	}
	if err != nil {
		return nil, "", fmt.Errorf("--model: load model %s: %w", name, err)
	}
	// From the bytes, so that a model with constant upsampling sizes can
	// be rewritten for each photo size (stylize.ModeRewrite).
	s, err := stylize.NewFromData(data, o)
	if err != nil {
		return nil, "", fmt.Errorf("--model: model %s: %w", name, err)
	}
	return s, name, nil
}

// checkModel loads the model file at path (nothing for the embedded
// default) to reject a file that is no model before anything else starts.
func checkModel(path string) error {
	if path == "" {
		return nil
	}
	m, err := tflite.LoadModel(path)
	if err != nil {
		return fmt.Errorf("--model: load model %s: %w", filepath.Base(path), err)
	}
	return m.Close()
}

// cachedField is the model's receptive field cached with the backend
// decision d, or nil (measure it) when there is none or it does not decode.
func cachedField(d backend.Decision, log *slog.Logger) *stylize.Field {
	if len(d.Field) == 0 {
		return nil
	}
	var f stylize.Field
	if err := json.Unmarshal(d.Field, &f); err != nil {
		log.Warn("ignoring the cached model field; measuring it again", "err", err)
		return nil
	}
	return &f
}

// rememberField adds the field s measured to the cached decision d in
// stateDir, once: the next start takes it from there instead of measuring.
func rememberField(stateDir string, d backend.Decision, s *stylize.Stylizer, log *slog.Logger) {
	if len(d.Field) != 0 || d.Key == "" {
		return
	}
	f, err := json.Marshal(s.Field())
	if err == nil {
		d.Field = f
		err = backend.Remember(stateDir, d)
	}
	if err != nil {
		log.Warn("cannot cache the model field with the backend decision", "err", err)
	}
}
