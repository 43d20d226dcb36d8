package scenario

import (
	"strings"
	"time"
)

// MemHistory is a lead's past kept in memory, for simulations and the tests of
// marketer files: the events they make happen, counted as the database counts them.
type MemHistory struct {
	events []memEvent
}

type memEvent struct {
	typ   string
	at    time.Time
	props map[string]any
}

// Add records an event at a time.
func (h *MemHistory) Add(typ string, at time.Time, props map[string]any) {
	h.events = append(h.events, memEvent{typ: typ, at: at, props: props})
}

// Count counts as History says: page visits whose URL contains match, forms named
// match ("" for any), and opens and clicks made by a person (a simulated one is,
// unless its verdict says otherwise).
func (h *MemHistory) Count(kind, match string, since time.Time) (int, error) {
	n := 0
	for _, e := range h.events {
		if e.typ != kind || e.at.Before(since) {
			continue
		}
		str := func(k string) string { s, _ := e.props[k].(string); return s }
		switch kind {
		case "page_visited":
			if !strings.Contains(str("url"), match) {
				continue
			}
		case "form_submitted":
			if match != "" && str("form") != match {
				continue
			}
		case "email_opened", "email_clicked":
			if v := str("verdict"); v != "" && v != "human" {
				continue
			}
		}
		n++
	}
	return n, nil
}
