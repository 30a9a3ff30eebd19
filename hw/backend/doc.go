// Package backend chooses where animed runs its model: an external delegate
// plugin (Edge TPU, GPU, Arm NN, or the user's --delegate), XNNPACK, or the
// builtin CPU kernels.
//
// The choice is truthful: a candidate is used only if it loads, gives the
// same answer as the CPU reference on a fixed test image, and is the
// fastest of those that do. Each candidate runs in a child process (the
// hidden `animed selftest` subcommand, package hw/selftest), so a delegate
// that crashes or hangs costs only that child. The decision is cached under
// the daemon's state folder, keyed by model hash and hardware fingerprint,
// so restarts skip the self-test.
package backend
