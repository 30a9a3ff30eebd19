// Command onnxweights writes the initializers (weights) of an ONNX model as raw
// little-endian float32 files, one per tensor, named after the tensor, with an
// index.tsv of names and shapes. The distillation recipe starts AnimeGAN-Tiny v2
// from the previous model's weights this way (models/distill/train.py --init-v1),
// since Debian has no python3-onnx:
//
//	go run ./models/distill/onnxweights models/previous/animegan_tiny.onnx DIR
package main

import (
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/animed/animed/converter/onnx"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: onnxweights MODEL.onnx OUTDIR")
		os.Exit(2)
	}
	if err := run(os.Args[1], os.Args[2]); err != nil {
		fmt.Fprintln(os.Stderr, "onnxweights:", err)
		os.Exit(1)
	}
}

func run(in, dir string) error {
	b, err := os.ReadFile(in)
	if err != nil {
		return err
	}
	var m onnx.ModelProto
	if err := proto.Unmarshal(b, &m); err != nil {
		return fmt.Errorf("parse %s: %w", in, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	var index strings.Builder
	for _, tp := range m.GetGraph().GetInitializer() {
		t, err := onnx.LoadTensor(tp)
		if err != nil {
			return fmt.Errorf("initializer %s: %w", tp.GetName(), err)
		}
		if !t.IsFloat() {
			continue
		}
		f := t.Floats()
		buf := make([]byte, 4*len(f))
		for i, v := range f {
			binary.LittleEndian.PutUint32(buf[4*i:], math.Float32bits(v))
		}
		if err := os.WriteFile(filepath.Join(dir, tp.GetName()+".f32"), buf, 0o644); err != nil {
			return err
		}
		fmt.Fprintf(&index, "%s\t%v\n", tp.GetName(), tp.GetDims())
	}
	return os.WriteFile(filepath.Join(dir, "index.tsv"), []byte(index.String()), 0o644)
}
