package pacing

import (
	"os"
	"strconv"
	"testing"
)

func TestDebugSeed(t *testing.T) {
	s, err := strconv.Atoi(os.Getenv("SEED"))
	if err != nil {
		t.Skip()
	}
	debugSim = true
	msg, n := runSafetyCase(uint64(s))
	t.Log(msg, n)
}
