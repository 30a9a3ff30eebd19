package calib

import (
	"context"
	"fmt"
	"math"
	"strings"

	"github.com/animed/animed/converter/quantize"
	"github.com/animed/animed/internal/tflite"
	tfl "github.com/animed/animed/internal/tflitefile"
)

// Metrics compare a quantized model's output with the FP32 model's, on
// the [-1, 1] image scale. PSNR uses a peak-to-peak of 2 (the same as
// 255 on 8-bit pixels).
type Metrics struct {
	PSNR      float64   `json:"psnr_db"`
	SNR       float64   `json:"snr_db"` // FP32 output energy over error energy
	WorstPSNR float64   `json:"worst_image_psnr_db"`
	MaxAbs    float64   `json:"max_abs_error"`
	Cosine    float64   `json:"cosine"`
	PerImage  []float64 `json:"per_image_psnr_db,omitempty"`
}

func (m Metrics) String() string {
	return fmt.Sprintf("PSNR %.2f dB (worst image %.2f dB), SNR %.2f dB, max abs error %.4f, cosine %.6f", m.PSNR, m.WorstPSNR, m.SNR, m.MaxAbs, m.Cosine)
}

// maxPSNR stands for identical outputs (JSON has no infinity).
const maxPSNR = 200

func psnr(sqErr float64, n int) float64 {
	if n == 0 || sqErr == 0 {
		return maxPSNR
	}
	return min(maxPSNR, 10*math.Log10(4/(sqErr/float64(n))))
}

// errAcc accumulates the error between a reference and a test signal.
type errAcc struct {
	sq, maxAbs, dot, ref2, test2 float64
	n                            int
}

func (a *errAcc) add(ref, test []float32) {
	for i, r := range ref {
		t := float64(test[i])
		d := float64(r) - t
		a.sq += d * d
		a.maxAbs = math.Max(a.maxAbs, math.Abs(d))
		a.dot += float64(r) * t
		a.ref2 += float64(r) * float64(r)
		a.test2 += t * t
	}
	a.n += len(ref)
}

func (a *errAcc) cosine() float64 {
	if a.ref2 == 0 || a.test2 == 0 {
		if a.ref2 == a.test2 {
			return 1
		}
		return 0
	}
	return a.dot / math.Sqrt(a.ref2*a.test2)
}

// snr is the signal-to-noise ratio in dB (the reference's energy over the
// error's), a scale-free per-layer measure.
func (a *errAcc) snr() float64 {
	if a.sq == 0 {
		return maxPSNR
	}
	if a.ref2 == 0 {
		return -maxPSNR
	}
	return max(-maxPSNR, min(maxPSNR, 10*math.Log10(a.ref2/a.sq)))
}

// RunOptions configure how Compare and LayerErrors run models.
type RunOptions struct {
	Threads int
	// Backend runs the quantized model; "" means XNNPACK. The FP32 model
	// runs on XNNPACK too, except in LayerErrors, which uses the CPU
	// kernels for both.
	Backend tflite.Backend
}

// runner runs one model on images.
type runner struct {
	m  *tflite.Model
	it *tflite.Interpreter
}

func newRunner(data []byte, threads int, backend tflite.Backend) (*runner, error) {
	m, err := tflite.NewModel(data)
	if err != nil {
		return nil, err
	}
	it, err := tflite.NewInterpreter(m, tflite.Options{Threads: threads, Backend: backend})
	if err != nil {
		m.Close()
		return nil, err
	}
	return &runner{m, it}, nil
}

func (r *runner) close() {
	r.it.Close()
	r.m.Close()
}

// run feeds img (as floats, or as pixel-128 for an int8 input with
// quantize.PixelInput's parameters) and invokes.
func (r *runner) run(img Image) error {
	if err := fitInput(r.it, img.H, img.W); err != nil {
		return err
	}
	in := r.it.Input(0)
	scale, zp := in.Quant()
	if in.Type() == tflite.Int8 && scale == quantize.PixelInput.Scale && zp == quantize.PixelInput.ZeroPoint {
		copy(in.Int8s(), img.Int8())
	} else if err := in.SetFloat32(img.Float()); err != nil {
		return err
	}
	return r.it.Invoke()
}

func (r *runner) output(k int) ([]float32, error) {
	t := r.it.Output(k)
	out := make([]float32, t.Len())
	return out, t.ReadFloat32(out)
}

// Compare runs the FP32 and the quantized model on images and measures the
// quantized output against the FP32 one.
func Compare(ctx context.Context, fp32, quantized []byte, images []Image, o RunOptions) (Metrics, error) {
	var m Metrics
	if len(images) == 0 {
		return m, fmt.Errorf("compare: no images")
	}
	ref, err := newRunner(fp32, o.Threads, tflite.BackendXNNPACK)
	if err != nil {
		return m, fmt.Errorf("compare: fp32 model: %w", err)
	}
	defer ref.close()
	q, err := newRunner(quantized, o.Threads, o.Backend)
	if err != nil {
		return m, fmt.Errorf("compare: quantized model: %w", err)
	}
	defer q.close()
	var all errAcc
	m.WorstPSNR = maxPSNR
	for _, img := range images {
		if err := ctx.Err(); err != nil {
			return m, err
		}
		if err := ref.run(img); err != nil {
			return m, fmt.Errorf("compare: fp32 model on %s: %w", img.Source, err)
		}
		if err := q.run(img); err != nil {
			return m, fmt.Errorf("compare: quantized model on %s: %w", img.Source, err)
		}
		a, err := ref.output(0)
		if err != nil {
			return m, err
		}
		b, err := q.output(0)
		if err != nil {
			return m, err
		}
		if len(a) != len(b) {
			return m, fmt.Errorf("compare: outputs have %d and %d values", len(a), len(b))
		}
		var one errAcc
		one.add(a, b)
		all.add(a, b)
		p := psnr(one.sq, one.n)
		m.PerImage = append(m.PerImage, p)
		m.WorstPSNR = min(m.WorstPSNR, p)
	}
	m.PSNR = psnr(all.sq, all.n)
	m.SNR = all.snr()
	m.MaxAbs = all.maxAbs
	m.Cosine = all.cosine()
	return m, nil
}

// LayerError is the error of one intermediate tensor of the quantized
// model against the same tensor of the FP32 model.
type LayerError struct {
	Tensor string     `json:"tensor"`
	Op     string     `json:"op"` // the operator producing it
	SNR    float64    `json:"snr_db"`
	MaxAbs float64    `json:"max_abs_error"`
	Cosine float64    `json:"cosine"`
	Range  [2]float64 `json:"fp32_range"`
	Int8   bool       `json:"int8"`
}

// LayerErrors runs both models, instrumented so every intermediate tensor
// is an output, on img with the CPU kernels, and compares the tensors
// they share by name, in the FP32 model's operator order. The first
// operator whose SNR drops is usually the one that hurts.
func LayerErrors(ctx context.Context, fp32, quantized *tfl.Model, img Image, threads int) ([]LayerError, error) {
	type side struct {
		r     *runner
		names map[string]int // tensor name -> output index
		g     *tfl.Subgraph
		outs  []int32
	}
	open := func(m *tfl.Model) (*side, error) {
		im, outs, err := Instrument(m)
		if err != nil {
			return nil, err
		}
		data, err := im.Marshal()
		if err != nil {
			return nil, err
		}
		r, err := newRunner(data, threads, tflite.BackendCPU)
		if err != nil {
			return nil, err
		}
		s := &side{r: r, names: map[string]int{}, g: m.Subgraphs[0], outs: outs}
		for k, t := range outs {
			s.names[m.Subgraphs[0].Tensors[t].Name] = k
		}
		return s, nil
	}
	a, err := open(fp32)
	if err != nil {
		return nil, fmt.Errorf("layer errors: fp32 model: %w", err)
	}
	defer a.r.close()
	b, err := open(quantized)
	if err != nil {
		return nil, fmt.Errorf("layer errors: quantized model: %w", err)
	}
	defer b.r.close()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := a.r.run(img); err != nil {
		return nil, fmt.Errorf("layer errors: fp32 model: %w", err)
	}
	if err := b.r.run(img); err != nil {
		return nil, fmt.Errorf("layer errors: quantized model: %w", err)
	}
	producer := map[int32]string{}
	for _, op := range a.g.Operators {
		for _, t := range op.Outputs {
			producer[t] = op.Op.String()
		}
	}
	var out []LayerError
	for ka, t := range a.outs {
		name := a.g.Tensors[t].Name
		kb, ok := b.names[name]
		if !ok {
			kb, ok = b.names[name+"_int8"]
		}
		if !ok {
			continue
		}
		ra, err := a.r.output(ka)
		if err != nil {
			return nil, err
		}
		rb, err := b.r.output(kb)
		if err != nil {
			return nil, err
		}
		if len(ra) != len(rb) {
			continue
		}
		var acc errAcc
		acc.add(ra, rb)
		lo, hi := math.Inf(1), math.Inf(-1)
		for _, v := range ra {
			lo, hi = math.Min(lo, float64(v)), math.Max(hi, float64(v))
		}
		bt := b.g.Tensors[b.outs[kb]]
		out = append(out, LayerError{Tensor: name, Op: producer[t], SNR: acc.snr(), MaxAbs: acc.maxAbs,
			Cosine: acc.cosine(), Range: [2]float64{lo, hi}, Int8: bt.Type == tfl.Int8})
	}
	return out, nil
}

// WorstLayers formats the n layers with the lowest SNR.
func WorstLayers(ls []LayerError, n int) string {
	idx := make([]int, len(ls))
	for i := range idx {
		idx[i] = i
	}
	for i := range idx {
		for j := i + 1; j < len(idx); j++ {
			if ls[idx[j]].SNR < ls[idx[i]].SNR {
				idx[i], idx[j] = idx[j], idx[i]
			}
		}
	}
	var b strings.Builder
	for _, i := range idx[:min(n, len(idx))] {
		l := ls[i]
		fmt.Fprintf(&b, "  %-40s %-20s SNR %6.2f dB  max abs %.4f\n", l.Tensor, l.Op, l.SNR, l.MaxAbs)
	}
	return b.String()
}
