package ir

import (
	"fmt"
	"slices"
)

// BroadcastShapes is numpy-style broadcasting of two shapes.
func BroadcastShapes(a, b []int) ([]int, error) {
	n := max(len(a), len(b))
	out := make([]int, n)
	for i := range n {
		da, db := 1, 1
		if j := i - (n - len(a)); j >= 0 {
			da = a[j]
		}
		if j := i - (n - len(b)); j >= 0 {
			db = b[j]
		}
		switch {
		case da == db:
			out[i] = da
		case da == 1:
			out[i] = db
		case db == 1:
			out[i] = da
		case da < 0 || db < 0:
			out[i] = max(da, db)
		default:
			return nil, fmt.Errorf("shapes %v and %v do not broadcast", a, b)
		}
	}
	return out, nil
}

// Strides returns row-major element strides.
func Strides(shape []int) []int {
	s := make([]int, len(shape))
	st := 1
	for i := len(shape) - 1; i >= 0; i-- {
		s[i] = st
		st *= shape[i]
	}
	return s
}

// BroadcastIndex maps every flat index of out to the flat index of a
// tensor of shape in broadcast against it.
func BroadcastIndex(in, out []int) []int {
	n := NumElements(out)
	idx := make([]int, n)
	pad := len(out) - len(in)
	ist := Strides(in)
	bst := make([]int, len(out)) // stride in `in` per out dim (0 where broadcast)
	for i := range out {
		if j := i - pad; j >= 0 && in[j] != 1 {
			bst[i] = ist[j]
		}
	}
	coord := make([]int, len(out))
	for k := range n {
		off := 0
		for i, c := range coord {
			off += c * bst[i]
		}
		idx[k] = off
		for i := len(out) - 1; i >= 0; i-- {
			coord[i]++
			if coord[i] < out[i] {
				break
			}
			coord[i] = 0
		}
	}
	return idx
}

// Transpose permutes a constant: out dim i is in dim perm[i].
func (t *Tensor) Transpose(perm []int) *Tensor {
	shape := make([]int, len(perm))
	for i, p := range perm {
		shape[i] = t.Shape[p]
	}
	st := Strides(t.Shape)
	n := t.Len()
	out := &Tensor{DType: t.DType, Shape: shape}
	if t.IsFloat() {
		out.F = make([]float32, n)
	} else {
		out.I = make([]int64, n)
	}
	coord := make([]int, len(shape))
	for k := range n {
		off := 0
		for i, c := range coord {
			off += c * st[perm[i]]
		}
		if t.IsFloat() {
			out.F[k] = t.F[off]
		} else {
			out.I[k] = t.I[off]
		}
		for i := len(shape) - 1; i >= 0; i-- {
			coord[i]++
			if coord[i] < shape[i] {
				break
			}
			coord[i] = 0
		}
	}
	return out
}

// Reshaped returns a copy sharing data with a new shape.
func (t *Tensor) Reshaped(shape []int) *Tensor {
	return &Tensor{DType: t.DType, Shape: slices.Clone(shape), F: t.F, I: t.I}
}

// InversePerm inverts a permutation.
func InversePerm(p []int) []int {
	q := make([]int, len(p))
	for i, v := range p {
		q[v] = i
	}
	return q
}
