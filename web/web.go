// Package web holds the browser side of tte-agent: the tte-agent-client ES
// module (client.js, client.d.ts, published to npm as tte-agent-client) and
// the demo e-office page (demo/), embedded so the demo server needs no
// files at run time.
package web

import (
	"embed"
	"io/fs"
	"net/http"
)

//go:embed client.js client.d.ts smime.js lib demo
var files embed.FS

// Demo is the demo e-office page; index.html is at its root.
var Demo, _ = fs.Sub(files, "demo")

// Handler serves the demo page at / and the client module at /client.js
// (with the modules it imports, under /lib/), where the page imports it
// from ("../client.js" resolves there).
func Handler() http.Handler {
	mux := http.NewServeMux()
	client := http.FileServerFS(files)
	mux.Handle("GET /client.js", client)
	mux.Handle("GET /client.d.ts", client)
	mux.Handle("GET /smime.js", client)
	mux.Handle("GET /lib/", client) // the modules client.js imports
	mux.Handle("GET /", http.FileServerFS(Demo))
	return mux
}
