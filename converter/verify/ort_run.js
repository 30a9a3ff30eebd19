// Runs an ONNX model with onnxruntime-node (the converter's reference).
// Usage: node ort_run.js JOB.json
// JOB: {"model": path, "runs": [{"inputs": {name: {"dims": [...], "file": f32 path}},
//       "out": dir}]}. Each output is written to out/<index>.f32 (raw
// little-endian float32); stdout is a JSON list (per run) of
// [{"name", "dims", "file"}].
'use strict';
const fs = require('fs');
const path = require('path');
const ort = require('onnxruntime-node');

async function main() {
  const job = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
  const session = await ort.InferenceSession.create(job.model, {
    graphOptimizationLevel: 'disabled', intraOpNumThreads: 1, interOpNumThreads: 1,
  });
  const result = [];
  for (const run of job.runs) {
    const feeds = {};
    for (const [name, spec] of Object.entries(run.inputs)) {
      const buf = fs.readFileSync(spec.file);
      const data = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
      feeds[name] = new ort.Tensor('float32', data, spec.dims);
    }
    const outs = await session.run(feeds);
    const list = [];
    session.outputNames.forEach((name, i) => {
      const t = outs[name];
      if (t.type !== 'float32') throw new Error(`output ${name} has type ${t.type}`);
      const file = path.join(run.out, `${i}.f32`);
      fs.writeFileSync(file, Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength));
      list.push({ name, dims: t.dims.map(Number), file });
    });
    result.push(list);
  }
  process.stdout.write(JSON.stringify(result));
}

main().catch((e) => { process.stderr.write(String(e && e.stack || e) + '\n'); process.exit(1); });
