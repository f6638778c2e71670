package audit

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
	"time"
)

// Report is the periodic evaluation the regulations ask for: how much was
// signed, by which application and certificate, what failed and which
// incidents happened.
type Report struct {
	From, To time.Time
	// Intact is false when the trail's chain is broken; Problem says where.
	Intact  bool   `json:"intact"`
	Problem string `json:"problem,omitempty"`
	// Signatures counts signed items per month, origin and certificate.
	Signatures []SignatureCount `json:"signatures"`
	// Failures counts ended or refused requests by reason.
	Failures map[string]int `json:"failures"`
	// Incidents lists events an administrator must follow up: PIN locked,
	// token removed, certificate expired or invalid.
	Incidents []Incident `json:"incidents"`
}

// SignatureCount is one row of the signature table.
type SignatureCount struct {
	Month       string `json:"month"` // YYYY-MM
	Origin      string `json:"origin"`
	Certificate string `json:"certificate"` // subject and fingerprint prefix
	Requests    int    `json:"requests"`
	Items       int    `json:"items"`
}

// Incident is one event to follow up.
type Incident struct {
	Time        time.Time `json:"time"`
	Kind        string    `json:"kind"`
	Origin      string    `json:"origin,omitempty"`
	Certificate string    `json:"certificate,omitempty"`
}

var incidentKinds = map[string]bool{"pin_locked": true, "token_removed": true, "certificate_invalid": true}

// Summarize reads the trail at path and reports on records from from
// (inclusive) to to (exclusive).
func Summarize(path string, from, to time.Time) (*Report, error) {
	r := &Report{From: from, To: to, Intact: true, Failures: map[string]int{}}
	if _, err := Verify(path); err != nil {
		r.Intact, r.Problem = false, err.Error()
	}
	files, err := Files(path)
	if err != nil {
		return nil, err
	}
	counts := map[[3]string]*SignatureCount{}
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			return nil, err
		}
		sc := bufio.NewScanner(fh)
		sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
		for sc.Scan() {
			var rec Record
			if json.Unmarshal(sc.Bytes(), &rec) != nil || rec.Time.Before(from) || !rec.Time.Before(to) {
				continue
			}
			cert := rec.Subject
			if len(rec.Certificate) >= 16 {
				cert += " (" + rec.Certificate[:16] + ")"
			}
			switch {
			case rec.Event == EventResult && rec.Outcome == "ok":
				key := [3]string{rec.Time.UTC().Format("2006-01"), rec.Origin, cert}
				c := counts[key]
				if c == nil {
					c = &SignatureCount{Month: key[0], Origin: key[1], Certificate: key[2]}
					counts[key] = c
				}
				c.Requests++
				c.Items += rec.Count
			case rec.Event == EventResult || rec.Event == EventRefused:
				r.Failures[rec.Outcome]++
			}
			if incidentKinds[rec.Outcome] && rec.Event != EventDecision {
				r.Incidents = append(r.Incidents, Incident{Time: rec.Time, Kind: rec.Outcome, Origin: rec.Origin, Certificate: cert})
			}
		}
		err = sc.Err()
		fh.Close()
		if err != nil {
			return nil, err
		}
	}
	for _, c := range counts {
		r.Signatures = append(r.Signatures, *c)
	}
	sort.Slice(r.Signatures, func(i, j int) bool {
		a, b := r.Signatures[i], r.Signatures[j]
		return a.Month+a.Origin+a.Certificate < b.Month+b.Origin+b.Certificate
	})
	return r, nil
}

// WriteText prints the report for people.
func (r *Report) WriteText(w io.Writer) error {
	fmt.Fprintf(w, "tte-agent audit report, %s to %s\n", r.From.Format("2006-01-02"), r.To.Add(-time.Second).Format("2006-01-02"))
	if r.Intact {
		fmt.Fprintln(w, "Audit trail: intact (hash chain verified)")
	} else {
		fmt.Fprintf(w, "Audit trail: NOT INTACT — %s\n", r.Problem)
	}
	fmt.Fprintln(w, "\nSignatures")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  month\torigin\tcertificate\trequests\titems")
	total := 0
	for _, c := range r.Signatures {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%d\t%d\n", c.Month, c.Origin, c.Certificate, c.Requests, c.Items)
		total += c.Items
	}
	tw.Flush()
	fmt.Fprintf(w, "  total signed items: %d\n", total)
	fmt.Fprintln(w, "\nFailures by reason")
	reasons := make([]string, 0, len(r.Failures))
	for k := range r.Failures {
		reasons = append(reasons, k)
	}
	sort.Strings(reasons)
	if len(reasons) == 0 {
		fmt.Fprintln(w, "  none")
	}
	for _, k := range reasons {
		fmt.Fprintf(w, "  %-24s %d\n", k, r.Failures[k])
	}
	fmt.Fprintln(w, "\nIncidents (PIN locked, token removed, certificate invalid)")
	if len(r.Incidents) == 0 {
		fmt.Fprintln(w, "  none")
	}
	for _, in := range r.Incidents {
		fmt.Fprintf(w, "  %s  %-20s %s %s\n", in.Time.UTC().Format(time.RFC3339), in.Kind, in.Origin, in.Certificate)
	}
	return nil
}

// WriteCSV writes one row per table line: a "section" column says which.
func (r *Report) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	cw.Write([]string{"section", "month_or_time", "origin", "certificate_or_reason", "requests", "items_or_count"})
	for _, c := range r.Signatures {
		cw.Write([]string{"signatures", c.Month, c.Origin, c.Certificate, fmt.Sprint(c.Requests), fmt.Sprint(c.Items)})
	}
	for k, n := range r.Failures {
		cw.Write([]string{"failures", "", "", k, "", fmt.Sprint(n)})
	}
	for _, in := range r.Incidents {
		cw.Write([]string{"incident", in.Time.UTC().Format(time.RFC3339), in.Origin, strings.TrimSpace(in.Kind + " " + in.Certificate), "", "1"})
	}
	cw.Flush()
	return cw.Error()
}

// WriteJSON writes the report as JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}
