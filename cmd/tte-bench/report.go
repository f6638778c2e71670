package main

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"
)

type section struct {
	title string
	rows  [][2]string
	pass  bool
	note  string
}

type report struct {
	runs     int
	started  time.Time
	sections []section
	failed   bool
	// rsaPerSignature is the token's time per RSA signature, from (a).
	rsaPerSignature time.Duration
	pdfPerDoc       time.Duration
}

func (r *report) add(s section) {
	r.sections = append(r.sections, s)
	if !s.pass {
		r.failed = true
	}
}

func cpuModel() string {
	data, _ := os.ReadFile("/proc/cpuinfo")
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "model name") {
			if _, v, ok := strings.Cut(line, ":"); ok {
				return strings.TrimSpace(v)
			}
		}
	}
	return "unknown"
}

func kernel() string {
	out, err := exec.Command("uname", "-srm").Output()
	if err != nil {
		return runtime.GOOS
	}
	return strings.TrimSpace(string(out))
}

// markdown renders the measured part of docs/performance.md.
func (r *report) markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "## Results\n\n")
	fmt.Fprintf(&b, "Command: `make bench` (`go run ./cmd/tte-bench -agent bin/tte-agent -runs %d`), %s.\n\n", r.runs, r.started.UTC().Format("2006-01-02 15:04 MST"))
	fmt.Fprintf(&b, "Machine: %s, %d CPUs (%s), %s, %s, SoftHSM 2 (Debian package).\n\n", cpuModel(), runtime.NumCPU(), runtime.GOARCH, kernel(), runtime.Version())
	fmt.Fprintf(&b, "Every number is the median of %d runs unless it says otherwise; every signature is verified after its timing.\n", r.runs)
	for _, s := range r.sections {
		verdict := "**met**"
		if !s.pass {
			verdict = "**NOT met**"
		}
		fmt.Fprintf(&b, "\n### %s — %s\n\n| measure | value |\n|---|---|\n", s.title, verdict)
		for _, row := range s.rows {
			fmt.Fprintf(&b, "| %s | %s |\n", row[0], row[1])
		}
		if s.note != "" {
			fmt.Fprintf(&b, "\n%s\n", s.note)
		}
	}
	return b.String()
}

// write replaces the "## Results" part of the report file, keeping the
// hand-written analysis before it.
func (r *report) write(path, results string) error {
	head := "# Performance\n\n"
	if old, err := os.ReadFile(path); err == nil {
		head, _, _ = strings.Cut(string(old), "## Results")
	}
	return os.WriteFile(path, []byte(strings.TrimRight(head, "\n")+"\n\n"+results), 0o644)
}
