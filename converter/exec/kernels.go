package exec

import (
	"math"
	"slices"

	"github.com/animed/animed/converter/ir"
	"github.com/animed/animed/internal/tflitefile"
)

// padBefore is TFLite's top/left padding for SAME (0 for VALID).
func padBefore(same bool, in, out, k, s, d int) int {
	if !same {
		return 0
	}
	eff := (k-1)*d + 1
	total := max((out-1)*s+eff-in, 0)
	return total / 2
}

func conv(n *ir.Node, x []float32, xs []int, w []float32, ws []int, b []float32, os []int) []float32 {
	a := n.Attrs
	same := a.String("padding", "VALID") == "SAME"
	sh, sw := int(a.Int("stride_h", 1)), int(a.Int("stride_w", 1))
	dh, dw := int(a.Int("dilation_h", 1)), int(a.Int("dilation_w", 1))
	N, H, W, C := xs[0], xs[1], xs[2], xs[3]
	OH, OW, O := os[1], os[2], os[3]
	kh, kw := ws[1], ws[2]
	dwise := n.Is(tflitefile.DepthwiseConv2D)
	mult := 1
	if dwise {
		mult = int(a.Int("depth_multiplier", 1))
	}
	pt := padBefore(same, H, OH, kh, sh, dh)
	pl := padBefore(same, W, OW, kw, sw, dw)
	out := make([]float32, N*OH*OW*O)
	for nb := range N {
		for oy := range OH {
			for ox := range OW {
				for oc := range O {
					s := b[oc]
					for ky := range kh {
						iy := oy*sh - pt + ky*dh
						if iy < 0 || iy >= H {
							continue
						}
						for kx := range kw {
							ix := ox*sw - pl + kx*dw
							if ix < 0 || ix >= W {
								continue
							}
							base := ((nb*H+iy)*W + ix) * C
							if dwise {
								s += x[base+oc/mult] * w[(ky*kw+kx)*O+oc]
								continue
							}
							wb := ((oc*kh+ky)*kw + kx) * C
							for ic := range C {
								s += x[base+ic] * w[wb+ic]
							}
						}
					}
					out[((nb*OH+oy)*OW+ox)*O+oc] = s
				}
			}
		}
	}
	return out
}

func transposeConv(n *ir.Node, x []float32, xs []int, w []float32, ws []int, b []float32, os []int) []float32 {
	a := n.Attrs
	same := a.String("padding", "VALID") == "SAME"
	sh, sw := int(a.Int("stride_h", 1)), int(a.Int("stride_w", 1))
	N, H, W, C := xs[0], xs[1], xs[2], xs[3]
	OH, OW, O := os[1], os[2], os[3]
	kh, kw := ws[1], ws[2]
	// TFLite computes the padding as for a conv from the output size.
	pt := padBefore(same, OH, (OH+sh-1)/sh, kh, sh, 1)
	pl := padBefore(same, OW, (OW+sw-1)/sw, kw, sw, 1)
	if !same {
		pt, pl = 0, 0
	}
	out := make([]float32, N*OH*OW*O)
	for nb := range N {
		for iy := range H {
			for ix := range W {
				for ky := range kh {
					oy := iy*sh - pt + ky
					if oy < 0 || oy >= OH {
						continue
					}
					for kx := range kw {
						ox := ix*sw - pl + kx
						if ox < 0 || ox >= OW {
							continue
						}
						for oc := range O {
							s := float32(0)
							for ic := range C {
								s += x[((nb*H+iy)*W+ix)*C+ic] * w[((oc*kh+ky)*kw+kx)*C+ic]
							}
							out[((nb*OH+oy)*OW+ox)*O+oc] += s
						}
					}
				}
			}
		}
	}
	if b != nil {
		for i := range out {
			out[i] += b[i%O]
		}
	}
	return out
}

func pad(x []float32, xs, pads, os []int, value float32, mode string) []float32 {
	r := len(xs)
	out := make([]float32, ir.NumElements(os))
	ist := ir.Strides(xs)
	coord := make([]int, r)
	for k := range out {
		off, inside := 0, true
		for i, c := range coord {
			p := c - pads[2*i]
			switch {
			case p >= 0 && p < xs[i]:
			case mode == "REFLECT":
				if p < 0 {
					p = -p
				} else {
					p = 2*(xs[i]-1) - p
				}
			case mode == "SYMMETRIC":
				if p < 0 {
					p = -p - 1
				} else {
					p = 2*xs[i] - 1 - p
				}
			default:
				inside = false
			}
			off += p * ist[i]
		}
		if inside {
			out[k] = x[off]
		} else {
			out[k] = value
		}
		for i := r - 1; i >= 0; i-- {
			coord[i]++
			if coord[i] < os[i] {
				break
			}
			coord[i] = 0
		}
	}
	return out
}

func sliceT(t *ir.Tensor, starts, ends, axes []int64) []float32 {
	r := len(t.Shape)
	begin := make([]int, r)
	shape := slices.Clone(t.Shape)
	for i, ax := range axes {
		begin[ax] = int(starts[i])
		shape[ax] = int(ends[i] - starts[i])
	}
	st := ir.Strides(t.Shape)
	out := make([]float32, 0, ir.NumElements(shape))
	coord := make([]int, r)
	for range ir.NumElements(shape) {
		off := 0
		for i, c := range coord {
			off += (begin[i] + c) * st[i]
		}
		out = append(out, t.F[off])
		for i := r - 1; i >= 0; i-- {
			coord[i]++
			if coord[i] < shape[i] {
				break
			}
			coord[i] = 0
		}
	}
	return out
}

func resize(n *ir.Node, x []float32, xs, os []int) []float32 {
	align := n.Attrs["align_corners"] == true
	half := n.Attrs["half_pixel_centers"] == true
	N, H, W, C := xs[0], xs[1], xs[2], xs[3]
	OH, OW := os[1], os[2]
	scale := func(in, out int) float32 {
		if align && out > 1 {
			return float32(in-1) / float32(out-1)
		}
		return float32(in) / float32(out)
	}
	hs, wsc := scale(H, OH), scale(W, OW)
	out := make([]float32, N*OH*OW*C)
	at := func(b, y, xx, c int) float32 { return x[((b*H+y)*W+xx)*C+c] }
	if n.Is(tflitefile.ResizeNearestNeighbor) {
		near := func(v, in int, s float32) int {
			off := float32(0)
			if half {
				off = 0.5
			}
			var r int
			if align {
				r = int(math.Round(float64((float32(v) + off) * s)))
			} else {
				r = int(math.Floor(float64((float32(v) + off) * s)))
			}
			r = min(r, in-1)
			if half {
				r = max(r, 0)
			}
			return r
		}
		for b := range N {
			for y := range OH {
				for xx := range OW {
					for c := range C {
						out[((b*OH+y)*OW+xx)*C+c] = at(b, near(y, H, hs), near(xx, W, wsc), c)
					}
				}
			}
		}
		return out
	}
	interp := func(v int, s float32, size int) (float32, int, int) {
		var f float32
		if half {
			f = (float32(v)+0.5)*s - 0.5
		} else {
			f = float32(v) * s
		}
		fl := float32(math.Floor(float64(f)))
		lo := max(int(fl), 0)
		hi := min(int(math.Ceil(float64(f))), size-1)
		return f, lo, hi
	}
	for b := range N {
		for y := range OH {
			iy, y0, y1 := interp(y, hs, H)
			dy := iy - float32(y0)
			for xx := range OW {
				ix, x0, x1 := interp(xx, wsc, W)
				dx := ix - float32(x0)
				for c := range C {
					out[((b*OH+y)*OW+xx)*C+c] = at(b, y0, x0, c)*(1-dy)*(1-dx) + at(b, y1, x0, c)*dy*(1-dx) +
						at(b, y0, x1, c)*(1-dy)*dx + at(b, y1, x1, c)*dy*dx
				}
			}
		}
	}
	return out
}

func batchMatMul(x []float32, xs []int, y []float32, ys []int, os []int, a map[string]any) []float32 {
	adjX, adjY := a["adj_x"] == true, a["adj_y"] == true
	r := len(os)
	M, N := os[r-2], os[r-1]
	K := xs[len(xs)-1]
	if adjX {
		K = xs[len(xs)-2]
	}
	batch := os[:r-2]
	xb := ir.BroadcastIndex(append(slices.Clone(xs[:len(xs)-2]), 1, 1), append(slices.Clone(batch), 1, 1))
	yb := ir.BroadcastIndex(append(slices.Clone(ys[:len(ys)-2]), 1, 1), append(slices.Clone(batch), 1, 1))
	out := make([]float32, ir.NumElements(os))
	for bi := range xb {
		xo, yo := xb[bi]*M*K, yb[bi]*K*N
		for i := range M {
			for j := range N {
				var s float32
				for k := range K {
					xv := x[xo+i*K+k]
					if adjX {
						xv = x[xo+k*M+i]
					}
					yv := y[yo+k*N+j]
					if adjY {
						yv = y[yo+j*K+k]
					}
					s += xv * yv
				}
				out[(bi*M+i)*N+j] = s
			}
		}
	}
	return out
}

func pool(n *ir.Node, x []float32, xs, os []int) []float32 {
	a := n.Attrs
	same := a.String("padding", "VALID") == "SAME"
	sh, sw := int(a.Int("stride_h", 1)), int(a.Int("stride_w", 1))
	kh, kw := int(a.Int("filter_height", 1)), int(a.Int("filter_width", 1))
	N, H, W, C := xs[0], xs[1], xs[2], xs[3]
	OH, OW := os[1], os[2]
	pt := padBefore(same, H, OH, kh, sh, 1)
	pl := padBefore(same, W, OW, kw, sw, 1)
	isMax := n.Is(tflitefile.MaxPool2D)
	out := make([]float32, N*OH*OW*C)
	for b := range N {
		for oy := range OH {
			for ox := range OW {
				for c := range C {
					s := float32(0)
					if isMax {
						s = float32(math.Inf(-1))
					}
					cnt := 0
					for ky := range kh {
						iy := oy*sh - pt + ky
						if iy < 0 || iy >= H {
							continue
						}
						for kx := range kw {
							ix := ox*sw - pl + kx
							if ix < 0 || ix >= W {
								continue
							}
							v := x[((b*H+iy)*W+ix)*C+c]
							if isMax {
								s = max(s, v)
							} else {
								s += v
							}
							cnt++
						}
					}
					if !isMax && cnt > 0 {
						s /= float32(cnt)
					}
					out[((b*OH+oy)*OW+ox)*C+c] = s
				}
			}
		}
	}
	return out
}
