package metrics

import (
	"encoding/json"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v2"
)

// families returns the names of every metric family the agent exports,
// each exercised once so that the vectors appear.
func families(t *testing.T) map[string]bool {
	t.Helper()
	m := New("test", func() int { return 0 })
	m.Signed("raw", 1, "pin_incorrect")
	m.SignTime("raw", time.Second)
	m.Request("sign.digest", time.Second, "pin_incorrect")
	m.Dialog("consented")
	m.Hashed(1)
	m.SetTokens([]Token{{Serial: "s", PINStatus: "ok"}}, []Certificate{{Token: "s", ID: "s/01", NotAfter: time.Now()}})
	mfs, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, mf := range mfs {
		out[mf.GetName()] = true
	}
	return out
}

var metricName = regexp.MustCompile(`tte_agent_[a-z_]+`)

// checkExpr fails when expr names a tte_agent metric that does not exist.
func checkExpr(t *testing.T, where, expr string, known map[string]bool) {
	t.Helper()
	for _, n := range metricName.FindAllString(expr, -1) {
		base := n
		for _, suffix := range []string{"_bucket", "_count", "_sum"} {
			base = strings.TrimSuffix(base, suffix)
		}
		if !known[n] && !known[base] {
			t.Errorf("%s uses %s, which the agent does not export", where, n)
		}
	}
}

func TestAlertRules(t *testing.T) {
	if _, err := exec.LookPath("promtool"); err != nil {
		t.Fatal("promtool is not installed: run scripts/install-deps.sh test")
	}
	for _, args := range [][]string{{"check", "rules", "alerts.yml"}, {"test", "rules", "alerts_test.yml"}} {
		cmd := exec.Command("promtool", args...)
		cmd.Dir = "../../docs"
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	data, err := os.ReadFile("../../docs/alerts.yml")
	if err != nil {
		t.Fatal(err)
	}
	var rules struct {
		Groups []struct {
			Rules []struct {
				Alert, Expr string
			}
		}
	}
	if err := yaml.Unmarshal(data, &rules); err != nil {
		t.Fatal(err)
	}
	known := families(t)
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			checkExpr(t, "alert "+r.Alert, r.Expr, known)
		}
	}
}

func TestDashboard(t *testing.T) {
	data, err := os.ReadFile("../../docs/grafana-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Title  string
		Panels []struct {
			Title   string
			Targets []struct{ Expr string }
		}
	}
	if err := json.Unmarshal(data, &dash); err != nil {
		t.Fatalf("the dashboard is not JSON: %v", err)
	}
	if len(dash.Panels) < 8 {
		t.Errorf("%d panels", len(dash.Panels))
	}
	known := families(t)
	for _, p := range dash.Panels {
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, tg := range p.Targets {
			checkExpr(t, "panel "+p.Title, tg.Expr, known)
		}
	}
}

// TestMetricsDoc: docs/metrics.md describes every metric the agent exports.
func TestMetricsDoc(t *testing.T) {
	data, err := os.ReadFile("../../docs/metrics.md")
	if err != nil {
		t.Fatal(err)
	}
	for name := range families(t) {
		if strings.HasPrefix(name, "tte_agent_") && !strings.Contains(string(data), "`"+name+"`") {
			t.Errorf("docs/metrics.md does not describe %s", name)
		}
	}
}
