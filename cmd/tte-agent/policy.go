package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/tte-agent/tte-agent/agent/config"
)

// cmdPolicy writes the machine's policy from installer properties:
//
//	tte-agent policy write --origins "https://a.go.id,https://b.go.id=documents+digest" --modules "C:\x.dll;C:\y.dll"
//
// An origin allows "documents" unless it says otherwise after "=". With
// neither flag given the existing policy is kept (an upgrade, a repair).
func cmdPolicy(args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "remove" {
		return cmdPolicyRemove(args[1:], stdout, stderr)
	}
	if len(args) == 0 || args[0] != "write" {
		fmt.Fprint(stderr, "usage: tte-agent policy write [--origins LIST] [--modules LIST] [--path FILE]\n       tte-agent policy remove [--path FILE]\n")
		return flag.ErrHelp
	}
	fs := flag.NewFlagSet("policy write", flag.ContinueOnError)
	fs.SetOutput(stderr)
	origins := fs.String("origins", "", `allowed e-office origins, comma-separated; "ORIGIN=documents+digest" to choose capabilities (default documents)`)
	modules := fs.String("modules", "", "PKCS#11 modules, semicolon-separated")
	path := fs.String("path", config.PolicyPath(), "the policy file")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if strings.TrimSpace(*origins) == "" && strings.TrimSpace(*modules) == "" {
		fmt.Fprintf(stdout, "no origins or modules given: %s left as it is\n", *path)
		return nil
	}
	var origs []config.Origin
	for _, item := range strings.Split(*origins, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		origin, caps, found := strings.Cut(item, "=")
		allow := []string{"documents"}
		if found {
			allow = strings.Split(caps, "+")
		}
		origs = append(origs, config.Origin{Origin: origin, Allow: allow})
	}
	var mods []string
	for _, m := range strings.Split(*modules, ";") {
		if m = strings.TrimSpace(m); m != "" {
			mods = append(mods, m)
		}
	}
	header := fmt.Sprintf("tte-agent policy, written by `tte-agent policy write` on %s.\nUsers' configurations cannot widen it; see docs/deployment.md.", time.Now().Format("2006-01-02"))
	data := config.FormatPolicy(header, origs, mods)
	if err := os.MkdirAll(filepath.Dir(*path), 0o755); err != nil {
		return err
	}
	tmp := *path + ".new"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	// Nothing invalid replaces a working policy.
	if _, err := config.LoadWithPolicy("", tmp); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("the policy would be invalid, nothing written: %w", err)
	}
	if err := os.Rename(tmp, *path); err != nil {
		os.Remove(tmp)
		return err
	}
	fmt.Fprintf(stdout, "policy written: %s (%d origins, %d modules)\n", *path, len(origs), len(mods))
	return nil
}

// cmdPolicyRemove deletes the policy file (the MSI's uninstall).
func cmdPolicyRemove(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("policy remove", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("path", config.PolicyPath(), "the policy file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	os.Remove(*path + ".new")
	if err := os.Remove(*path); err != nil && !os.IsNotExist(err) {
		return err
	}
	fmt.Fprintf(stdout, "policy removed: %s\n", *path)
	return nil
}
