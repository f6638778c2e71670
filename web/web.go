// Package web holds the browser side of tte-agent: the demo e-office page
// (web/demo), embedded so the demo server needs no files at run time.
package web

import "embed"

// Demo is the demo e-office page; index.html is at its root.
//
//go:embed demo
var Demo embed.FS
