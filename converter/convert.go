// Package converter turns ONNX image-to-image models into TFLite models in
// pure Go. The pipeline is a sequence of small passes over one IR
// (package ir): load (package onnx) -> fix input shape -> fold constants
// and infer shapes -> remove identities -> fold batch norms -> recognize
// normalization patterns -> lower to TFLite ops in NHWC layout -> fuse
// activations -> write (package emit, package tflitefile). The command
// converter/cmd/onnx2tflite wires it to flags; the INT8 quantizer works
// on the tflitefile.Model this package returns.
package converter

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/animed/animed/converter/emit"
	"github.com/animed/animed/converter/ir"
	"github.com/animed/animed/converter/pass"
	"github.com/animed/animed/internal/tflitefile"
)

// MetadataKey is the model metadata entry the converter writes: a JSON
// object (see Info).
const MetadataKey = "animed.converter"

// Info is stored as JSON under MetadataKey in every converted model.
type Info struct {
	Converter string `json:"converter"`
	Source    string `json:"source,omitempty"`
	Opset     int    `json:"onnx_opset"`
	Resizable bool   `json:"resizable"`
	Reason    string `json:"not_resizable_because,omitempty"`
	// Rescalable: tflitefile.ScaleInput can rewrite the model's constant
	// sizes (RESIZE_*, TRANSPOSE_CONV) for other input sizes, so a model
	// that is not resizable can still run at any size whose ratio to the
	// converted size keeps every size whole (internal/stylize does so).
	Rescalable    bool              `json:"rescalable"`
	RescaleReason string            `json:"not_rescalable_because,omitempty"`
	Layouts       map[string]string `json:"layouts"`
}

// Options control a conversion.
type Options struct {
	// InputShape fixes the first input's shape (ONNX order, e.g.
	// [1,3,256,256]); nil keeps the model's, which must then be static.
	InputShape []int
	// PlainMean keeps channel reductions (in LayerNorm/GroupNorm) as MEAN
	// instead of MEAN over H,W plus a 1x1 CONV_2D (see pass.LowerOptions).
	PlainMean bool
	Logger    *slog.Logger
}

// Result is a converted model with what is known about it.
type Result struct {
	Model *tflitefile.Model
	Graph *ir.Graph // the TFLite-level IR the model was written from
	Info  Info
}

// Convert runs the pipeline on a loaded ONNX graph (see onnx.LoadFile). It
// modifies g.
func Convert(g *ir.Graph, o Options) (res *Result, err error) {
	// A pass that trips over a graph it did not anticipate must not take
	// the caller down: report it as a conversion error.
	defer func() {
		if r := recover(); r != nil {
			res, err = nil, fmt.Errorf("internal converter error (please report with the model): %v", r)
		}
	}()
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if o.InputShape != nil {
		if len(g.Inputs) != 1 {
			return nil, fmt.Errorf("--input-shape needs a model with one input, this one has %d", len(g.Inputs))
		}
		in := g.Inputs[0]
		if in.Shape != nil && len(in.Shape) != len(o.InputShape) {
			return nil, fmt.Errorf("input %q has rank %d, --input-shape gives %v", in.Name, len(in.Shape), o.InputShape)
		}
		for i, d := range o.InputShape {
			if d <= 0 {
				return nil, fmt.Errorf("--input-shape %v: dimensions must be positive", o.InputShape)
			}
			if in.Shape != nil && in.Shape[i] > 0 && in.Shape[i] != d && i < 2 {
				return nil, fmt.Errorf("--input-shape %v conflicts with the model's input %v in dim %d", o.InputShape, in.Shape, i)
			}
		}
		in.Shape = slices.Clone(o.InputShape)
		// Shapes the exporter recorded for other values may be stale now.
		for _, n := range g.Nodes {
			for _, v := range n.Outputs {
				if v != nil && !v.IsConst() {
					v.Shape = nil
				}
			}
		}
	}
	for _, in := range g.Inputs {
		if !in.StaticShape() {
			return nil, fmt.Errorf("input %q has unknown dimensions %v: give --input-shape", in.Name, in.Shape)
		}
	}
	steps := []struct {
		name string
		run  func(*ir.Graph) error
	}{
		{"check inputs", pass.CheckInputs},
		{"expand variadic ops", pass.ExpandVariadic},
		{"fold constants", pass.FoldConstants},
		{"remove identities", pass.RemoveIdentity},
		{"fold constants", pass.FoldConstants},
		{"fold batch norms", pass.FoldBatchNorm},
		{"recognize norms", pass.RecognizeNorms},
		{"recognize pixel shuffle", pass.RecognizePixelShuffle},
		{"infer shapes", pass.InferShapes},
	}
	for _, s := range steps {
		t := time.Now()
		if err := s.run(g); err != nil {
			return nil, err
		}
		log.Debug("pass", "name", s.name, "nodes", len(g.Nodes), "took", time.Since(t))
	}
	t := time.Now()
	tg, err := pass.Lower(g, pass.LowerOptions{PlainMean: o.PlainMean})
	if err != nil {
		return nil, err
	}
	if err := pass.FuseActivations(tg); err != nil {
		return nil, err
	}
	log.Debug("pass", "name", "lower", "ops", len(tg.Nodes), "took", time.Since(t))
	info := Info{Converter: "animed onnx2tflite", Source: g.Metadata["source_producer"], Opset: g.Opset,
		Layouts: map[string]string{}}
	for k, v := range tg.Metadata {
		if strings.HasSuffix(k, "_layout") {
			info.Layouts[k] = v
		}
	}
	info.Resizable, info.Reason = Resizable(tg)
	js, err := json.Marshal(info)
	if err != nil {
		return nil, err
	}
	tg.Metadata = map[string]string{MetadataKey: string(js)}
	desc := fmt.Sprintf("onnx2tflite (animed); resizable=%v", info.Resizable)
	m, err := emit.Model(tg, desc)
	if err != nil {
		return nil, err
	}
	// Whether the written model can be rewritten for other sizes is a
	// property of the TFLite file, so it is checked there and the record
	// updated.
	if err := tflitefile.Scalable(m); err != nil {
		info.RescaleReason = err.Error()
	} else {
		info.Rescalable = true
	}
	if js, err = json.Marshal(info); err != nil {
		return nil, err
	}
	m.SetMetadata(MetadataKey, js)
	m.Description = fmt.Sprintf("%s; rescalable=%v", desc, info.Rescalable)
	return &Result{Model: m, Graph: tg, Info: info}, nil
}

// Resizable reports whether a TFLite-level graph computes the same function
// when its NHWC inputs are resized: no operator may take a size from a
// constant tensor.
func Resizable(g *ir.Graph) (bool, string) {
	for _, n := range g.Nodes {
		if op, ok := n.Builtin(); ok && op.Info().ConstSize {
			return false, fmt.Sprintf("%s %q uses a constant size", op, n.Name)
		}
	}
	for _, v := range g.Inputs {
		if len(v.Shape) != 4 {
			return false, fmt.Sprintf("input %q is not NHWC", v.Name)
		}
	}
	return true, ""
}

// ReadInfo returns the converter metadata of a model written by Convert.
func ReadInfo(m *tflitefile.Model) (Info, error) {
	var info Info
	b, ok := m.MetadataValue(MetadataKey)
	if !ok {
		return info, errors.New("model has no " + MetadataKey + " metadata")
	}
	return info, json.Unmarshal(b, &info)
}
