package stylize

import (
	"fmt"
	"log/slog"

	"github.com/animed/animed/internal/tflite"
	"github.com/animed/animed/internal/tflitefile"
)

// interpreter returns an interpreter whose input is h x w: the main one,
// resized when the model is natively resizable, or in ModeRewrite one
// built from the model rewritten for that size. The last rewritten one is
// kept, since photos from one camera usually share a size; it is closed
// before another is built, so at most one is alive.
func (s *Stylizer) interpreter(h, w int) (*tflite.Interpreter, error) {
	if s.mode != ModeRewrite {
		if h != s.curH || w != s.curW {
			if err := s.it.ResizeInput(0, []int{1, h, w, 3}); err != nil {
				return nil, fmt.Errorf("stylize: resize input to %dx%d: %w", w, h, err)
			}
			s.curH, s.curW = h, w
		}
		return s.it, nil
	}
	if s.rw != nil && h == s.rwH && w == s.rwW {
		return s.rw, nil
	}
	if s.rw != nil {
		s.rw.Close()
		s.rw = nil
	}
	it, err := rewritten(s.data, h, w, tflite.Options{Threads: s.o.Threads, Backend: s.o.Backend,
		ExternalDelegate: s.o.ExternalDelegate, Logger: s.o.Logger})
	if err != nil {
		return nil, fmt.Errorf("stylize: %w", err)
	}
	s.log().Debug("model rewritten for a new size", "size", fmt.Sprintf("%dx%d", w, h), "backend", it.Backend())
	s.rw, s.rwH, s.rwW = it, h, w
	return it, nil
}

// rewritten builds an interpreter for the model in data rewritten for an
// h x w input and checks that its output is h x w too.
func rewritten(data []byte, h, w int, o tflite.Options) (*tflite.Interpreter, error) {
	scaled, err := tflitefile.ScaleInput(data, h, w)
	if err != nil {
		return nil, err
	}
	m, err := tflite.NewModel(scaled)
	if err != nil {
		return nil, fmt.Errorf("model rewritten for %dx%d: %w", w, h, err)
	}
	defer m.Close()
	it, err := tflite.NewInterpreter(m, o)
	if err != nil {
		return nil, fmt.Errorf("model rewritten for %dx%d: %w", w, h, err)
	}
	in, out := it.Input(0).Shape(), it.Output(0).Shape()
	if len(in) != 4 || in[1] != h || in[2] != w || len(out) != 4 || out[1] != h || out[2] != w || out[3] != 3 {
		it.Close()
		return nil, fmt.Errorf("model rewritten for %dx%d: input %v, output %v: %w", w, h, in, out, ErrModelShape)
	}
	return it, nil
}

// probeRewrite checks that the model in data, converted at h0 x w0, can be
// rewritten for twice that size and then maps its input size to the same
// output size.
func probeRewrite(data []byte, h0, w0 int) error {
	it, err := rewritten(data, 2*h0, 2*w0, tflite.Options{Backend: tflite.BackendCPU, Threads: 1})
	if err != nil {
		return err
	}
	return it.Close()
}

func (s *Stylizer) log() *slog.Logger { return s.o.logger() }

func (o Options) logger() *slog.Logger {
	if o.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return o.Logger
}
