package verify_test

import (
	"testing"

	"github.com/animed/animed/converter"
	"github.com/animed/animed/converter/verify"
)

func runtimeBackends(t *testing.T, res *converter.Result) []verify.Backend { return nil }
