package main

import (
	"fmt"
	"path/filepath"

	"github.com/animed/animed/internal/stylize"
	"github.com/animed/animed/internal/tflite"
	"github.com/animed/animed/models"
)

// loadStylizer loads the model at path (the embedded default when path is
// "") and builds its interpreter. It returns the model's name for logs and
// result comments.
func loadStylizer(path string, o stylize.Options) (*stylize.Stylizer, string, error) {
	var (
		m    *tflite.Model
		name string
		err  error
	)
	if path == "" {
		m, err = tflite.NewModel(models.Default())
		name = models.DefaultName()
	} else {
		m, err = tflite.LoadModel(path)
		name = filepath.Base(path)
	}
	if err != nil {
		return nil, "", fmt.Errorf("--model: load model %s: %w", name, err)
	}
	// The interpreter keeps what it needs; the model may be closed.
	defer m.Close()
	s, err := stylize.New(m, o)
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
