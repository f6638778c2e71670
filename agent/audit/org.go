package audit

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"
	"time"
)

// MaxTrails bounds how many trails one organisation report reads.
const MaxTrails = 100_000

// OrgReport is the evaluation for a whole organisation: the trails
// collected from its workstations, each verified on its own, and their
// tables added up. Perwali Denpasar 29/2019 art. 24 asks for such a
// report at least yearly.
type OrgReport struct {
	From, To time.Time
	// Workstations has one row per trail, sorted by name.
	Workstations []WorkstationReport `json:"workstations"`
	// Intact is false when any trail's chain is broken.
	Intact bool `json:"intact"`
	// Signatures, Failures and Incidents add up every trail's, intact or
	// not (a broken trail is named in Workstations).
	Signatures []SignatureCount `json:"signatures"`
	Failures   map[string]int   `json:"failures"`
	Incidents  []OrgIncident    `json:"incidents"`
}

// WorkstationReport is one trail's line of an OrgReport.
type WorkstationReport struct {
	// Name is the trail's directory relative to the collection's root,
	// e.g. "pc-bu-01/budi".
	Name      string `json:"name"`
	Intact    bool   `json:"intact"`
	Problem   string `json:"problem,omitempty"`
	Items     int    `json:"items"`
	Requests  int    `json:"requests"`
	Failures  int    `json:"failures"`
	Incidents int    `json:"incidents"`
}

// OrgIncident is an Incident with the workstation it happened on.
type OrgIncident struct {
	Incident
	Workstation string `json:"workstation"`
}

// SummarizeTree reports on every trail under root: each directory holding
// an audit.log (with its rotated files and anchors beside it, as the agent
// writes them) is one workstation's trail. Symbolic links are not
// followed. A root without any trail is an error.
func SummarizeTree(root string, from, to time.Time) (*OrgReport, error) {
	var trails []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type()&fs.ModeSymlink != 0 {
			return nil
		}
		if !d.IsDir() && d.Name() == "audit.log" {
			if len(trails) >= MaxTrails {
				return fmt.Errorf("more than %d trails under %s", MaxTrails, root)
			}
			trails = append(trails, path)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(trails) == 0 {
		return nil, fmt.Errorf("no audit trail (audit.log) under %s: collect each workstation's trail directory there", root)
	}
	sort.Strings(trails)
	org := &OrgReport{From: from, To: to, Intact: true, Failures: map[string]int{}}
	sums := map[[3]string]*SignatureCount{}
	for _, path := range trails {
		name, _ := filepath.Rel(root, filepath.Dir(path))
		name = filepath.ToSlash(name)
		rep, err := Summarize(path, from, to)
		if err != nil {
			org.Workstations = append(org.Workstations, WorkstationReport{Name: name, Problem: err.Error()})
			org.Intact = false
			continue
		}
		w := WorkstationReport{Name: name, Intact: rep.Intact, Problem: rep.Problem, Incidents: len(rep.Incidents)}
		org.Intact = org.Intact && rep.Intact
		for _, c := range rep.Signatures {
			w.Items += c.Items
			w.Requests += c.Requests
			k := [3]string{c.Month, c.Origin, c.Certificate}
			if sums[k] == nil {
				sums[k] = &SignatureCount{Month: c.Month, Origin: c.Origin, Certificate: c.Certificate}
			}
			sums[k].Items += c.Items
			sums[k].Requests += c.Requests
		}
		for k, n := range rep.Failures {
			w.Failures += n
			org.Failures[k] += n
		}
		for _, in := range rep.Incidents {
			org.Incidents = append(org.Incidents, OrgIncident{Incident: in, Workstation: name})
		}
		org.Workstations = append(org.Workstations, w)
	}
	for _, c := range sums {
		org.Signatures = append(org.Signatures, *c)
	}
	sort.Slice(org.Signatures, func(i, j int) bool {
		a, b := org.Signatures[i], org.Signatures[j]
		return a.Month+a.Origin+a.Certificate < b.Month+b.Origin+b.Certificate
	})
	sort.SliceStable(org.Incidents, func(i, j int) bool { return org.Incidents[i].Time.Before(org.Incidents[j].Time) })
	return org, nil
}

// WriteText prints the organisation's report for people.
func (r *OrgReport) WriteText(w io.Writer) error {
	fmt.Fprintf(w, "tte-agent audit report for the organisation, %s to %s\n", r.From.Format("2006-01-02"), r.To.Add(-time.Second).Format("2006-01-02"))
	broken := 0
	for _, ws := range r.Workstations {
		if !ws.Intact {
			broken++
		}
	}
	fmt.Fprintf(w, "Trails: %d workstations, %d intact, %d NOT INTACT\n", len(r.Workstations), len(r.Workstations)-broken, broken)
	fmt.Fprintln(w, "\nWorkstations")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  workstation\ttrail\trequests\titems\tfailures\tincidents")
	for _, ws := range r.Workstations {
		state := "intact"
		if !ws.Intact {
			state = "NOT INTACT: " + ws.Problem
		}
		fmt.Fprintf(tw, "  %s\t%s\t%d\t%d\t%d\t%d\n", ws.Name, state, ws.Requests, ws.Items, ws.Failures, ws.Incidents)
	}
	tw.Flush()
	writeTables(w, "Signatures (all workstations)", r.Signatures, r.Failures)
	fmt.Fprintln(w, "\nIncidents (PIN locked, token removed, certificate invalid)")
	if len(r.Incidents) == 0 {
		fmt.Fprintln(w, "  none")
	}
	for _, in := range r.Incidents {
		fmt.Fprintf(w, "  %s  %-20s %-20s %s %s\n", in.Time.UTC().Format(time.RFC3339), in.Workstation, in.Kind, in.Origin, in.Certificate)
	}
	return nil
}

// WriteCSV writes one row per table line, with a "section" column.
func (r *OrgReport) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	cw.Write([]string{"section", "workstation", "month_or_time", "origin", "certificate_or_reason", "requests", "items_or_count"})
	for _, ws := range r.Workstations {
		state := "intact"
		if !ws.Intact {
			state = "not intact: " + ws.Problem
		}
		cw.Write([]string{"workstation", ws.Name, "", "", state, fmt.Sprint(ws.Requests), fmt.Sprint(ws.Items)})
	}
	for _, c := range r.Signatures {
		cw.Write([]string{"signatures", "", c.Month, c.Origin, c.Certificate, fmt.Sprint(c.Requests), fmt.Sprint(c.Items)})
	}
	for k, n := range r.Failures {
		cw.Write([]string{"failures", "", "", "", k, "", fmt.Sprint(n)})
	}
	for _, in := range r.Incidents {
		cw.Write([]string{"incident", in.Workstation, in.Time.UTC().Format(time.RFC3339), in.Origin, strings.TrimSpace(in.Kind + " " + in.Certificate), "", "1"})
	}
	cw.Flush()
	return cw.Error()
}

// WriteJSON writes the report as JSON.
func (r *OrgReport) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}
