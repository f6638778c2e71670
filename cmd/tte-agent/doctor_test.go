package main

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/tte-agent/tte-agent/internal/testscale"
	"github.com/tte-agent/tte-agent/token/softhsm"
)

// TestDoctor runs the scripts in testdata/doctor: each builds a machine
// (SoftHSM tokens, configuration, a taken port) and checks what
// `tte-agent doctor` says and how it exits.
func TestDoctor(t *testing.T) {
	mod, err := softhsm.Module()
	if err != nil {
		t.Fatal(err)
	}
	testscript.Run(t, testscript.Params{
		Dir: "testdata/doctor",
		Setup: func(env *testscript.Env) error {
			env.Setenv("SOFTHSM2_CONF", filepath.Join(env.WorkDir, "hsm", "softhsm2.conf"))
			env.Setenv("SOFTHSM", mod)
			// The browsers' policy directories of the script's machine,
			// not this one's.
			env.Setenv("TTE_BROWSER_ROOT", filepath.Join(env.WorkDir, "root"))
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			// holdport VAR: take a free loopback port for the script's
			// life and put its address in $VAR.
			"holdport": func(ts *testscript.TestScript, neg bool, args []string) {
				l, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					ts.Fatalf("%v", err)
				}
				ts.Defer(func() { l.Close() })
				ts.Setenv(args[0], l.Addr().String())
			},
			// expand FILE...: replace $VARS in the files with the
			// script's environment (txtar files are not expanded).
			"expand": func(ts *testscript.TestScript, neg bool, args []string) {
				for _, f := range args {
					data, err := os.ReadFile(ts.MkAbs(f))
					if err != nil {
						ts.Fatalf("%v", err)
					}
					if err := os.WriteFile(ts.MkAbs(f), []byte(os.Expand(string(data), ts.Getenv)), 0o600); err != nil {
						ts.Fatalf("%v", err)
					}
				}
			},
			// waitport ADDR: wait until something listens on ADDR.
			"waitport": func(ts *testscript.TestScript, neg bool, args []string) {
				for deadline := time.Now().Add(testscale.D(20 * time.Second)); ; time.Sleep(50 * time.Millisecond) {
					if c, err := net.Dial("tcp", args[0]); err == nil {
						c.Close()
						return
					}
					if time.Now().After(deadline) {
						ts.Fatalf("nothing listens on %s", args[0])
					}
				}
			},
			// freeport VAR: a free loopback port's address in $VAR.
			"freeport": func(ts *testscript.TestScript, neg bool, args []string) {
				l, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					ts.Fatalf("%v", err)
				}
				ts.Setenv(args[0], l.Addr().String())
				l.Close()
			},
		},
	})
}

// mktokenMain is the `mktoken LABEL KIND` program of the scripts: a
// SoftHSM token in $SOFTHSM2_CONF's store whose certificate is valid,
// expired, expiring soon, or for encryption only.
func mktokenMain() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: mktoken LABEL valid|expired|soon|encrypt")
		os.Exit(2)
	}
	store, err := softhsm.NewStore(filepath.Dir(os.Getenv("SOFTHSM2_CONF")))
	if err == nil {
		var ca *softhsm.CA
		ca, err = softhsm.NewCA(pkix.Name{CommonName: "Doctor CA"})
		if err == nil {
			k := softhsm.KeySpec{Label: "k", ID: []byte{1}, Type: "EC-P256", Subject: pkix.Name{CommonName: "Rina " + os.Args[1]}}
			now := time.Now()
			switch os.Args[2] {
			case "expired":
				k.NotBefore, k.NotAfter = now.AddDate(-2, 0, 0), now.AddDate(0, 0, -3)
			case "soon":
				k.NotBefore, k.NotAfter = now.AddDate(-1, 0, 0), now.AddDate(0, 0, 12)
			case "encrypt":
				k.KeyUsage = x509.KeyUsageKeyEncipherment
			}
			_, err = store.CreateToken(softhsm.TokenSpec{Label: os.Args[1], PIN: "1234", SOPIN: "12345678", Keys: []softhsm.KeySpec{k}}, ca)
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
