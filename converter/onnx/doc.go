// Package onnx reads ONNX models into the converter's IR (package
// converter/ir). The protobuf types in onnx.pb.go are generated from
// Debian libonnx-dev's onnx.proto; run `go generate ./converter/onnx` (or
// `make converter-proto`) to regenerate them.
package onnx

//go:generate sh -c "protoc -I/usr/include/onnx --plugin=protoc-gen-go=../../build/tools/protoc-gen-go --go_out=. --go_opt=paths=source_relative '--go_opt=Monnx.proto=github.com/animed/animed/converter/onnx;onnx' onnx.proto"
