// Package tflitefile reads and writes the TensorFlow Lite flatbuffer file
// format (schema version 3, file identifier "TFL3") as a plain Go object model.
//
// A Model is a tree of ordinary structs: subgraphs of tensors and operators,
// with constant data in buffers. Parse turns a .tflite file into a Model and
// Marshal turns a Model back into bytes, so passes such as the INT8
// quantizer can load, rewrite and save a model without any generated code.
// Tables are built with the flatbuffers runtime and the field slots of the
// public schema, which SCHEMA.md in this folder lists (schema.go names them
// and a test checks both, and the Python reader, agree). View reads a model
// without copying its weights, CheckGraph validates the graph a runtime
// will execute, and OpInfo (ops.go) is the project's one table of facts
// about each TFLite operator.
//
// Only the builtin operators and option tables this project writes or reads
// are modelled; Parse keeps any other option table as RawOptions so that a
// round trip does not lose it.
package tflitefile
