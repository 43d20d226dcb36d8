// Package page holds the public pages the server renders (unsubscribe), parsed once at
// start-up so that a broken page stops the program rather than a request.
package page

import (
	"embed"
	"html/template"
)

//go:embed *.html
var files embed.FS

// Unsubscribe is the unsubscribe confirmation page.
var Unsubscribe = template.Must(template.ParseFS(files, "unsubscribe.html"))

// UnsubscribeData is what the unsubscribe page shows.
type UnsubscribeData struct {
	Email string // masked
	Done  bool
}
