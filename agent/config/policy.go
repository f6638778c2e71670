package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"

	"github.com/BurntSushi/toml"
)

// PolicyPath returns where administrators put the machine's policy:
// /etc/tte-agent/policy.toml, or %ProgramData%\tte-agent\policy.toml.
func PolicyPath() string {
	if runtime.GOOS == "windows" {
		pd := os.Getenv("ProgramData")
		if pd == "" {
			pd = `C:\ProgramData`
		}
		return filepath.Join(pd, "tte-agent", "policy.toml")
	}
	return "/etc/tte-agent/policy.toml"
}

// LoadWithPolicy reads the user's configuration at path ("" for none: the
// defaults) under the administrator's policy at policyPath ("" or a
// missing file for none). The policy has the configuration's keys, and:
//
//   - every key the policy sets wins over the user's, except:
//   - origins: the policy's list is the most that is allowed. A user
//     origin not in it is dropped; a policy origin the user also lists
//     keeps only the capabilities both allow; the others stay as the
//     policy says;
//   - pkcs11.modules: the policy's list is the most that is loaded; the
//     user may name a subset;
//   - limits: the smaller of the two wins for each limit the policy sets.
//
// What the policy changed is in Config.Notes.
func LoadWithPolicy(path, policyPath string) (*Config, error) {
	var c Config
	if path != "" {
		if err := decode(path, &c); err != nil {
			return nil, err
		}
		if w := configWritable(path); w != "" {
			c.Notes = append(c.Notes, w)
		}
	}
	if policyPath != "" {
		var pol Config
		md, err := toml.DecodeFile(policyPath, &pol)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			// No policy on this machine.
		case err != nil:
			return nil, fmt.Errorf("failed to read the policy %s: %w", policyPath, err)
		default:
			if und := md.Undecoded(); len(und) > 0 {
				return nil, fmt.Errorf("policy %s: unknown keys %s (check the spelling against docs/deployment.md)", policyPath, joinKeys(und))
			}
			check := pol // values are shared, but complete only sets fields
			check.Origins = slices.Clone(pol.Origins)
			if err := check.complete(); err != nil {
				return nil, fmt.Errorf("policy %s: %w", policyPath, err)
			}
			c.applyPolicy(&pol, md)
			c.PolicyPath = policyPath
			if w := policyWritable(policyPath); w != "" {
				c.Notes = append(c.Notes, w)
			}
		}
	}
	if err := c.complete(); err != nil {
		where := path
		if c.PolicyPath != "" {
			where = path + " under the policy " + c.PolicyPath
		}
		return nil, fmt.Errorf("configuration %s: %w", where, err)
	}
	return &c, nil
}

// applyPolicy merges the policy pol (with its metadata) into c.
func (c *Config) applyPolicy(pol *Config, md toml.MetaData) {
	// Plain keys: the policy wins wherever it says something.
	cv, pv := reflect.ValueOf(c).Elem(), reflect.ValueOf(pol).Elem()
	for i := 0; i < cv.NumField(); i++ {
		f := cv.Type().Field(i)
		key := tomlKey(f)
		if key == "" || key == "origins" || key == "limits" {
			continue
		}
		if f.Type.Kind() != reflect.Struct {
			if md.IsDefined(key) {
				cv.Field(i).Set(pv.Field(i))
			}
			continue
		}
		for j := 0; j < f.Type.NumField(); j++ {
			sub := tomlKey(f.Type.Field(j))
			if sub == "" || (key == "pkcs11" && sub == "modules") || !md.IsDefined(key, sub) {
				continue
			}
			cv.Field(i).Field(j).Set(pv.Field(i).Field(j))
		}
	}

	if md.IsDefined("origins") {
		mine := map[string][]string{}
		for _, o := range c.Origins {
			mine[o.Origin] = o.Allow
		}
		var out []Origin
		for _, o := range pol.Origins {
			allow := o.Allow
			if u, ok := mine[o.Origin]; ok {
				allow = slices.DeleteFunc(slices.Clone(o.Allow), func(cap string) bool { return !slices.Contains(u, cap) })
				delete(mine, o.Origin)
			}
			out = append(out, Origin{Origin: o.Origin, Allow: allow})
		}
		for o := range mine {
			c.Notes = append(c.Notes, fmt.Sprintf("origin %s is in your configuration but not in the policy: refused", o))
		}
		c.Origins = out
	}

	if md.IsDefined("pkcs11", "modules") {
		var keep []string
		for _, m := range c.PKCS11.Modules {
			if slices.Contains(pol.PKCS11.Modules, m) {
				keep = append(keep, m)
			} else {
				c.Notes = append(c.Notes, fmt.Sprintf("PKCS#11 module %s is in your configuration but not in the policy: not loaded", m))
			}
		}
		if len(keep) == 0 {
			keep = slices.Clone(pol.PKCS11.Modules)
		}
		c.PKCS11.Modules = keep
	}

	lv, plv := reflect.ValueOf(&c.Limits).Elem(), reflect.ValueOf(&pol.Limits).Elem()
	for i := 0; i < lv.NumField(); i++ {
		if !md.IsDefined("limits", tomlKey(lv.Type().Field(i))) {
			continue
		}
		u, p := lv.Field(i).Int(), plv.Field(i).Int()
		if u == 0 || (p != 0 && p < u) {
			lv.Field(i).SetInt(p)
		}
	}
}

func tomlKey(f reflect.StructField) string {
	k, _, _ := strings.Cut(f.Tag.Get("toml"), ",")
	if k == "-" {
		return ""
	}
	return k
}

func joinKeys(keys []toml.Key) string {
	s := make([]string, len(keys))
	for i, k := range keys {
		s[i] = k.String()
	}
	return strings.Join(s, ", ")
}

// PolicySpec is what `tte-agent policy write` puts in a policy: the keys
// a rollout sets from installer properties or a script. Empty fields are
// left out.
type PolicySpec struct {
	Origins []Origin
	Modules []string
	// AllowUsers and ListenPorts are the top-level allow_users and
	// listen_ports.
	AllowUsers  []string
	ListenPorts int
	// TrustAnchors and Intermediates are [trust]'s files.
	TrustAnchors, Intermediates []string
	TSAURL                      string
	RevocationMode              string
	// MetricsListen and MetricsWebConfig are [metrics] listen and
	// web_config.
	MetricsListen, MetricsWebConfig string
}

// FormatPolicy returns a policy file with the header as comments.
func FormatPolicy(header string, p PolicySpec) []byte {
	var b strings.Builder
	for _, line := range strings.Split(strings.TrimSpace(header), "\n") {
		b.WriteString("# " + line + "\n")
	}
	list := func(items []string) string {
		q := make([]string, len(items))
		for i, it := range items {
			q[i] = tomlString(it)
		}
		return "[" + strings.Join(q, ", ") + "]"
	}
	// Top-level keys come before any table.
	if len(p.AllowUsers) > 0 {
		b.WriteString("allow_users = " + list(p.AllowUsers) + "\n")
	}
	if p.ListenPorts > 0 {
		fmt.Fprintf(&b, "listen_ports = %d\n", p.ListenPorts)
	}
	if len(p.Modules) > 0 {
		b.WriteString("\n[pkcs11]\nmodules = " + list(p.Modules) + "\n")
	}
	if len(p.TrustAnchors) > 0 || len(p.Intermediates) > 0 {
		b.WriteString("\n[trust]\n")
		if len(p.TrustAnchors) > 0 {
			b.WriteString("anchors = " + list(p.TrustAnchors) + "\n")
		}
		if len(p.Intermediates) > 0 {
			b.WriteString("intermediates = " + list(p.Intermediates) + "\n")
		}
	}
	if p.TSAURL != "" {
		b.WriteString("\n[tsa]\nurl = " + tomlString(p.TSAURL) + "\n")
	}
	if p.RevocationMode != "" {
		b.WriteString("\n[revocation]\nmode = " + tomlString(p.RevocationMode) + "\n")
	}
	if p.MetricsListen != "" || p.MetricsWebConfig != "" {
		b.WriteString("\n[metrics]\n")
		if p.MetricsListen != "" {
			b.WriteString("listen = " + tomlString(p.MetricsListen) + "\n")
		}
		if p.MetricsWebConfig != "" {
			b.WriteString("web_config = " + tomlString(p.MetricsWebConfig) + "\n")
		}
	}
	for _, o := range p.Origins {
		b.WriteString("\n[[origins]]\norigin = " + tomlString(o.Origin) + "\nallow = " + list(o.Allow) + "\n")
	}
	return []byte(b.String())
}

// tomlString quotes s as a TOML literal string when it can (Windows paths
// keep their backslashes readable), else as a basic string.
func tomlString(s string) string {
	if !strings.ContainsAny(s, "'\n\r") {
		return "'" + s + "'"
	}
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`, "\r", `\r`)
	return `"` + r.Replace(s) + `"`
}
