package verify

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

//go:embed ort_run.js
var ortScript []byte

// Tensor is a float32 tensor with its shape.
type Tensor struct {
	Name  string
	Shape []int
	Data  []float32
}

// ORT runs ONNX models with onnxruntime-node, installed by
// `make converter-deps` into build/ort (ORTDir).
type ORT struct {
	Node    string // node binary
	Modules string // folder holding node_modules/onnxruntime-node
}

// FindORT locates node and the onnxruntime-node install: $ANIMED_ORT_DIR,
// else build/ort in the repository root (found from the working directory
// upwards via go.mod).
func FindORT() (*ORT, error) {
	node, err := exec.LookPath("node")
	if err != nil {
		return nil, errors.New("node is not installed (the ONNX reference needs Node.js)")
	}
	dir := os.Getenv("ANIMED_ORT_DIR")
	if dir == "" {
		root, err := repoRoot()
		if err != nil {
			return nil, err
		}
		dir = filepath.Join(root, "build", "ort")
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "onnxruntime-node", "package.json")); err != nil {
		return nil, fmt.Errorf("onnxruntime-node is not installed in %s: run `make converter-deps`", dir)
	}
	return &ORT{Node: node, Modules: dir}, nil
}

func repoRoot() (string, error) {
	d, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d, nil
		}
		p := filepath.Dir(d)
		if p == d {
			return "", errors.New("repository root (go.mod) not found")
		}
		d = p
	}
}

// Run evaluates the model on each input set (one map per run, keyed by
// input name, shapes in ONNX order) and returns the outputs per run.
func (o *ORT) Run(ctx context.Context, model string, runs []map[string]Tensor) ([][]Tensor, error) {
	tmp, err := os.MkdirTemp("", "ort")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	script := filepath.Join(tmp, "ort_run.js")
	if err := os.WriteFile(script, ortScript, 0o644); err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(model)
	if err != nil {
		return nil, err
	}
	type spec struct {
		Dims []int  `json:"dims"`
		File string `json:"file"`
	}
	type run struct {
		Inputs map[string]spec `json:"inputs"`
		Out    string          `json:"out"`
	}
	job := struct {
		Model string `json:"model"`
		Runs  []run  `json:"runs"`
	}{Model: abs}
	for i, r := range runs {
		dir := filepath.Join(tmp, fmt.Sprint(i))
		if err := os.Mkdir(dir, 0o755); err != nil {
			return nil, err
		}
		rr := run{Inputs: map[string]spec{}, Out: dir}
		for name, t := range r {
			f := filepath.Join(dir, "in_"+fmt.Sprint(len(rr.Inputs))+".f32")
			if err := os.WriteFile(f, f32Bytes(t.Data), 0o644); err != nil {
				return nil, err
			}
			rr.Inputs[name] = spec{Dims: t.Shape, File: f}
		}
		job.Runs = append(job.Runs, rr)
	}
	jf := filepath.Join(tmp, "job.json")
	js, _ := json.Marshal(job)
	if err := os.WriteFile(jf, js, 0o644); err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, o.Node, script, jf)
	cmd.Env = append(os.Environ(), "NODE_PATH="+filepath.Join(o.Modules, "node_modules"))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		// The thrown error comes after any warnings: keep the first line
		// of the last message.
		msg := strings.TrimSpace(stderr.String())
		for _, line := range strings.Split(msg, "\n") {
			if strings.HasPrefix(line, "Error") || strings.Contains(line, "Error:") {
				msg = line
				break
			}
		}
		if i := strings.IndexByte(msg, '\n'); i > 0 {
			msg = msg[:i]
		}
		return nil, fmt.Errorf("onnxruntime: %v: %s", err, msg)
	}
	var res [][]struct {
		Name string `json:"name"`
		Dims []int  `json:"dims"`
		File string `json:"file"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
		return nil, fmt.Errorf("onnxruntime: bad reply: %v", err)
	}
	out := make([][]Tensor, len(res))
	for i, r := range res {
		for _, t := range r {
			b, err := os.ReadFile(t.File)
			if err != nil {
				return nil, err
			}
			out[i] = append(out[i], Tensor{Name: t.Name, Shape: t.Dims, Data: bytesF32(b)})
		}
	}
	return out, nil
}

func f32Bytes(v []float32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return b
}

func bytesF32(b []byte) []float32 {
	v := make([]float32, len(b)/4)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return v
}
