package audit

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
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

var incidentKinds = map[string]bool{"pin_locked": true, "token_removed": true, "certificate_invalid": true, IncidentTorn: true}

// Summary is what a pruned file held, kept in the trail when the file is
// deleted: its chain's end, and the counts a report needs.
type Summary struct {
	File     string    `json:"file"`
	FirstSeq uint64    `json:"firstSeq"`
	LastSeq  uint64    `json:"lastSeq"`
	LastHash string    `json:"lastHash"`
	From     time.Time `json:"from"`
	To       time.Time `json:"to"`
	// Signatures, Failures and Incidents are as in a Report of the file.
	Signatures []SignatureCount `json:"signatures,omitempty"`
	Failures   map[string]int   `json:"failures,omitempty"`
	Incidents  []Incident       `json:"incidents,omitempty"`
}

// tally accumulates records into report tables.
type tally struct {
	counts    map[[3]string]*SignatureCount
	failures  map[string]int
	incidents []Incident
}

func newTally() *tally {
	return &tally{counts: map[[3]string]*SignatureCount{}, failures: map[string]int{}}
}

func (t *tally) add(rec Record) {
	cert := rec.Subject
	if len(rec.Certificate) >= 16 {
		cert += " (" + rec.Certificate[:16] + ")"
	}
	switch {
	case rec.Event == EventResult && rec.Outcome == "ok":
		t.addSignatures(SignatureCount{Month: rec.Time.UTC().Format("2006-01"), Origin: rec.Origin, Certificate: cert, Requests: 1, Items: rec.Count})
	case rec.Event == EventResult:
		t.failures[rec.Outcome]++
	case rec.Event == EventRefused:
		t.failures[rec.Outcome] += max(1, rec.Count)
	}
	if incidentKinds[rec.Outcome] && rec.Event != EventDecision {
		t.incidents = append(t.incidents, Incident{Time: rec.Time, Kind: rec.Outcome, Origin: rec.Origin, Certificate: cert})
	}
}

func (t *tally) addSignatures(s SignatureCount) {
	key := [3]string{s.Month, s.Origin, s.Certificate}
	c := t.counts[key]
	if c == nil {
		c = &SignatureCount{Month: s.Month, Origin: s.Origin, Certificate: s.Certificate}
		t.counts[key] = c
	}
	c.Requests += s.Requests
	c.Items += s.Items
}

// addSummary adds what a pruned file held within [from, to): signatures
// by month, incidents by time, failures when the file's span overlaps.
func (t *tally) addSummary(s *Summary, from, to time.Time) {
	for _, c := range s.Signatures {
		m, err := time.Parse("2006-01", c.Month)
		if err == nil && m.Before(to) && !m.AddDate(0, 1, 0).Before(from) {
			t.addSignatures(c)
		}
	}
	if s.From.Before(to) && !s.To.Before(from) {
		for k, n := range s.Failures {
			t.failures[k] += n
		}
	}
	for _, in := range s.Incidents {
		if !in.Time.Before(from) && in.Time.Before(to) {
			t.incidents = append(t.incidents, in)
		}
	}
}

func (t *tally) signatures() []SignatureCount {
	out := make([]SignatureCount, 0, len(t.counts))
	for _, c := range t.counts {
		out = append(out, *c)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		return a.Month+a.Origin+a.Certificate < b.Month+b.Origin+b.Certificate
	})
	return out
}

// Summarize reads the trail at path and reports on records from from
// (inclusive) to to (exclusive), with what pruned files held. Only
// records exactly as the agent writes them are counted; a trail that does
// not verify is reported as not intact.
func Summarize(path string, from, to time.Time) (*Report, error) {
	r := &Report{From: from, To: to, Intact: true}
	if _, err := Verify(path); err != nil {
		r.Intact, r.Problem = false, err.Error()
	}
	t := newTally()
	_, err := scanTrail(path, func(rec Record, _ string, _ int) error {
		if rec.Pruned != nil {
			t.addSummary(rec.Pruned, from, to)
		}
		if !rec.Time.Before(from) && rec.Time.Before(to) {
			t.add(rec)
		}
		return nil
	})
	var p *Problem
	if err != nil && !errors.As(err, &p) {
		return nil, err
	}
	r.Signatures, r.Failures, r.Incidents = t.signatures(), t.failures, t.incidents
	sort.Slice(r.Incidents, func(i, j int) bool { return r.Incidents[i].Time.Before(r.Incidents[j].Time) })
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
	writeTables(w, "Signatures", r.Signatures, r.Failures)
	fmt.Fprintln(w, "\nIncidents (PIN locked, token removed, certificate invalid)")
	if len(r.Incidents) == 0 {
		fmt.Fprintln(w, "  none")
	}
	for _, in := range r.Incidents {
		fmt.Fprintf(w, "  %s  %-20s %s %s\n", in.Time.UTC().Format(time.RFC3339), in.Kind, in.Origin, in.Certificate)
	}
	return nil
}

// writeTables prints the signatures and the failures by reason.
func writeTables(w io.Writer, title string, signatures []SignatureCount, failures map[string]int) {
	fmt.Fprintln(w, "\n"+title)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  month\torigin\tcertificate\trequests\titems")
	total := 0
	for _, c := range signatures {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%d\t%d\n", c.Month, c.Origin, c.Certificate, c.Requests, c.Items)
		total += c.Items
	}
	tw.Flush()
	fmt.Fprintf(w, "  total signed items: %d\n", total)
	fmt.Fprintln(w, "\nFailures by reason")
	reasons := make([]string, 0, len(failures))
	for k := range failures {
		reasons = append(reasons, k)
	}
	sort.Strings(reasons)
	if len(reasons) == 0 {
		fmt.Fprintln(w, "  none")
	}
	for _, k := range reasons {
		fmt.Fprintf(w, "  %-24s %d\n", k, failures[k])
	}
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
