package testscale

import (
	"testing"
	"time"
)

func TestScale(t *testing.T) {
	tests := []struct {
		env  string
		want float64
	}{{"3", 3}, {"0.5", 1}, {"2.5", 2.5}}
	for _, tt := range tests {
		t.Setenv("TTE_TEST_SCALE", tt.env)
		if got := compute(); got != tt.want {
			t.Errorf("TTE_TEST_SCALE=%s: %v, want %v", tt.env, got, tt.want)
		}
	}
	t.Setenv("TTE_TEST_SCALE", "")
	if f := compute(); f < 1 || f > 8 {
		t.Errorf("from the load: %v, want 1 to 8", f)
	}
	if d := D(time.Second); d < time.Second {
		t.Errorf("D(1s) = %v", d)
	}
}
