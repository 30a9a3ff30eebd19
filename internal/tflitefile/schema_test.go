package tflitefile

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

// schemaNote reads the tables of SCHEMA.md: slots by "Table.field",
// tensor types by name (value and size) and operator codes by name.
func schemaNote(t *testing.T) (slots map[string]int, types map[string][2]int, ops map[string]int) {
	t.Helper()
	f, err := os.Open("SCHEMA.md")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	slots, types, ops = map[string]int{}, map[string][2]int{}, map[string]int{}
	section := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "## ") {
			section = line[3:]
			continue
		}
		if !strings.HasPrefix(line, "| ") || strings.HasPrefix(line, "| ---") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "| "), " | ")
		num := func(i int) int {
			v, err := strconv.Atoi(strings.TrimSpace(cells[i]))
			if err != nil {
				return -1
			}
			return v
		}
		switch {
		case section == "Table slots" && num(1) >= 0:
			slots[cells[0]+"."+cells[2]] = num(1)
		case section == "TensorType" && num(1) >= 0:
			types[cells[0]] = [2]int{num(1), num(2)}
		case section == "Builtin operators" && num(1) >= 0:
			ops[cells[0]] = num(1)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(slots) == 0 || len(types) == 0 || len(ops) == 0 {
		t.Fatalf("SCHEMA.md: %d slots, %d types, %d operators parsed", len(slots), len(types), len(ops))
	}
	return slots, types, ops
}

// The slot numbers, tensor types and operator codes the Go reader and
// writer use are the ones SCHEMA.md states, and the note lists no more.
func TestSchemaNote(t *testing.T) {
	slots, types, ops := schemaNote(t)
	goSlots := map[string]int{
		"Model.version": modelVersion, "Model.operator_codes": modelOperatorCodes, "Model.subgraphs": modelSubgraphs,
		"Model.description": modelDescription, "Model.buffers": modelBuffers, "Model.metadata": modelMetadata,
		"SubGraph.tensors": subgraphTensors, "SubGraph.inputs": subgraphInputs, "SubGraph.outputs": subgraphOutputs,
		"SubGraph.operators": subgraphOperators, "SubGraph.name": subgraphName,
		"Tensor.shape": tensorShape, "Tensor.type": tensorType, "Tensor.buffer": tensorBuffer, "Tensor.name": tensorName,
		"Tensor.quantization": tensorQuantization, "Tensor.is_variable": tensorIsVariable,
		"Tensor.shape_signature": tensorShapeSignature,
		"Buffer.data":            bufferData,
		"Operator.opcode_index":  operatorOpcodeIndex, "Operator.inputs": operatorInputs, "Operator.outputs": operatorOutputs,
		"Operator.builtin_options_type": operatorBuiltinOptionsType, "Operator.builtin_options": operatorBuiltinOptions,
		"Operator.custom_options":              operatorCustomOptions,
		"OperatorCode.deprecated_builtin_code": opcodeDeprecatedBuiltinCode, "OperatorCode.custom_code": opcodeCustomCode,
		"OperatorCode.version": opcodeVersion, "OperatorCode.builtin_code": opcodeBuiltinCode,
		"QuantizationParameters.min": quantMin, "QuantizationParameters.max": quantMax,
		"QuantizationParameters.scale": quantScale, "QuantizationParameters.zero_point": quantZeroPoint,
		"QuantizationParameters.quantized_dimension": quantQuantizedDimension,
		"Metadata.name": metadataName, "Metadata.buffer": metadataBuffer,
	}
	compare(t, "slot", slots, goSlots)
	for name, v := range types {
		tt := TensorType(v[0])
		if got := strings.ToUpper(tt.String()); got != name || tt.Size() != v[1] {
			t.Errorf("TensorType %d: Go says %s of %d bytes, SCHEMA.md %s of %d", v[0], got, tt.Size(), name, v[1])
		}
	}
	goOps := map[string]int{}
	for op, i := range opInfo {
		goOps[i.Name] = int(op)
	}
	compare(t, "operator", ops, goOps)
}

func compare(t *testing.T, what string, note, code map[string]int) {
	t.Helper()
	for k, v := range note {
		if c, ok := code[k]; !ok || c != v {
			t.Errorf("%s %s: SCHEMA.md says %d, the code %d (present %v)", what, k, v, c, ok)
		}
	}
	for k, v := range code {
		if _, ok := note[k]; !ok {
			t.Errorf("%s %s = %d is used by the code but missing from SCHEMA.md", what, k, v)
		}
	}
}

// The Python reader (models/distill/tflite_graph.py) uses the same slots,
// types and operator codes, where it reads them.
func TestSchemaNotePython(t *testing.T) {
	slots, types, ops := schemaNote(t)
	const dump = `import json, sys
sys.path.insert(0, "../../models/distill")
import tflite_graph as g
print(json.dumps({"slots": g.schema_slots(), "types": {n: v for v, n in g.TYPE_NAMES.items()}, "ops": {n: c for c, n in g.OPS.items()}}))`
	out, err := exec.Command("/usr/bin/python3", "-c", dump).Output()
	if err != nil {
		t.Skipf("the Python reader needs Debian's python3-flatbuffers and python3-numpy (make deps): %v", err)
	}
	var py struct {
		Slots map[string]int
		Types map[string]int
		Ops   map[string]int
	}
	if err := json.Unmarshal(out, &py); err != nil {
		t.Fatal(err)
	}
	for k, v := range py.Slots {
		if n, ok := slots[k]; !ok || n != v {
			t.Errorf("tflite_graph.py slot %s = %d, SCHEMA.md %d (present %v)", k, v, n, ok)
		}
	}
	for k, v := range py.Types {
		if n, ok := types[k]; !ok || n[0] != v {
			t.Errorf("tflite_graph.py type %s = %d, SCHEMA.md %v", k, v, n)
		}
	}
	for k, v := range py.Ops {
		if n, ok := ops[k]; !ok || n != v {
			t.Errorf("tflite_graph.py operator %s = %d, SCHEMA.md %d (present %v)", k, v, n, ok)
		}
	}
	if len(py.Slots) == 0 || len(py.Ops) == 0 {
		t.Errorf("tflite_graph.py exposes %d slots and %d operators", len(py.Slots), len(py.Ops))
	}
}
