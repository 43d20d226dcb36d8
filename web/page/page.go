// Package page holds the public pages the server renders (unsubscribe, the sales
// hand-off), parsed once at start-up so that a broken page stops the program rather
// than a request.
package page

import (
	"embed"
	"html/template"
)

//go:embed *.html
var files embed.FS

// Unsubscribe is the unsubscribe confirmation page.
var Unsubscribe = template.Must(template.ParseFS(files, "unsubscribe.html"))

// Handoff is the page where a sales rep accepts or rejects a lead.
var Handoff = template.Must(template.ParseFS(files, "handoff.html"))

// HandoffData is what the hand-off page shows: the hand-off (any type with its
// fields), and at most one of Done (what the POST did), Already (what was done
// before) and Error.
type HandoffData struct {
	Handoff any
	Done    string
	Already string
	Error   string
}

// UnsubscribeData is what the unsubscribe page shows.
type UnsubscribeData struct {
	Email string // masked
	Done  bool
}
