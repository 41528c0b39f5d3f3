package main

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"
)

func TestChooseSteps(t *testing.T) {
	got, err := chooseSteps("scale,throughput")
	if err != nil || !slices.Equal(got, []string{"throughput", "scale"}) {
		t.Errorf("chooseSteps(scale,throughput) = %v, %v; want the usual order", got, err)
	}
	if got, _ := chooseSteps(""); !slices.Equal(got, stepNames) {
		t.Errorf("chooseSteps() = %v, want every step", got)
	}
	if _, err := chooseSteps("speed"); err == nil || !strings.Contains(err.Error(), "throughput") {
		t.Errorf("an unknown step: %v, want an error listing the steps", err)
	}
}

func TestVerdicts(t *testing.T) {
	for _, c := range []struct{ got, want string }{
		{atLeast(0.96, 0.95, "×"), "met"},
		{atLeast(0.5, 0.95, "×"), "**missed** by 0.45×"},
		{atMost(1.1, 1.1, "×"), "met"},
		{atMost(1.5, 1.1, "×"), "**missed** by 0.40×"},
		{below(0.49, 0.5, " %"), "met"},
		{within(-0.9, 1), "met"},
		{within(1.25, 1), "**missed** by 0.25 %"},
		{ratio(1, 0), "–"},
		{ratio(3, 2), "1.50×"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
}

func TestReport(t *testing.T) {
	var b bytes.Buffer
	report{machine: describeMachine("1.2.3"), plan: shortPlan, rows: []row{{measure: "m", vcomd: "1", socat: "2", ratio: "0.50×", verdict: "met"}}}.write(&b)
	out := b.String()
	for _, want := range []string{"socat 1.2.3", "(short plan)", "| m | 1 | 2 | 0.50× | – | met |"} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
}

// Without socat the command says what to install, before building or
// starting anything.
func TestNoSocat(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	var out, errs bytes.Buffer
	if code := run(context.Background(), []string{"-short"}, &out, &errs); code != 1 {
		t.Errorf("exit status %d, want 1", code)
	}
	if !strings.Contains(errs.String(), "install the socat package") {
		t.Errorf("stderr %q does not say to install socat", errs.String())
	}
}

func TestBadFlags(t *testing.T) {
	var out, errs bytes.Buffer
	if code := run(context.Background(), []string{"-only", "nothing"}, &out, &errs); code != 2 {
		t.Errorf("-only nothing: exit status %d, want 2", code)
	}
	if code := run(context.Background(), []string{"extra"}, &out, &errs); code == 0 {
		t.Error("an argument was accepted")
	}
}
