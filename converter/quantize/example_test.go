package quantize_test

import (
	"context"
	"fmt"

	"github.com/animed/animed/converter/quantize"
	"github.com/animed/animed/converter/quantize/calib"
	"github.com/animed/animed/internal/testmodel"
	tfl "github.com/animed/animed/internal/tflitefile"
)

// Calibrate an FP32 model on a few images, quantize it to INT8 and
// measure the result against FP32.
func Example() {
	ctx := context.Background()
	m := testmodel.Generator(testmodel.GeneratorConfig{Size: 32})
	imgs := calib.SyntheticImages(6, 32, 32, 1) // or LoadImages(FindImages(dir), ...)
	stats, err := calib.Calibrate(ctx, m, imgs[:4], calib.CalibOptions{Threads: 1})
	if err != nil {
		panic(err)
	}
	ranges, err := stats.Ranges(calib.Percentile, 99.99)
	if err != nil {
		panic(err)
	}
	res, err := quantize.Quantize(m, quantize.Options{Ranges: ranges})
	if err != nil {
		panic(err)
	}
	fp32, _ := m.Marshal()
	q, _ := res.Model.Marshal()
	met, err := calib.Compare(ctx, fp32, q, imgs[4:], calib.RunOptions{Threads: 1})
	if err != nil {
		panic(err)
	}
	float := 0
	for _, op := range res.Model.Main().Operators {
		for _, t := range op.Outputs {
			if res.Model.Main().Tensors[t].Type == tfl.Float32 {
				float++
			}
		}
	}
	fmt.Println("operators with float outputs:", float) // the final DEQUANTIZE
	fmt.Println("PSNR above 35 dB:", met.PSNR > 35)
	fmt.Println("XNNPACK 2.9 cannot take:", quantize.SummarizeUndelegated(quantize.UndelegatedOps(res.Model)))
	// Output:
	// operators with float outputs: 1
	// PSNR above 35 dB: true
	// XNNPACK 2.9 cannot take: LEAKY_RELU×7 MIRROR_PAD×1 TANH×1
}
