package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/nurture-dev/nurture/engine/lang"
	"github.com/nurture-dev/nurture/engine/message"
	"github.com/nurture-dev/nurture/engine/scenario"
)

func (c *cli) simulate(_ context.Context, args []string) error {
	var cfg Config
	fs := c.flagSet("simulate", "simulate FILE [--lead JSON] [--event EVENT...] [--trigger EVENT] [--start TIME]",
		`Runs the scenario in FILE for one lead on a virtual clock, with the step code the
server runs, and prints what happens when: which branch and why, what is sent, where
it ends. Nothing is sent and no database is used.

--lead is the lead as JSON, inline or a .json file:
  --lead '{"email": "a@example.com", "title": "部長", "employees": 2000, "score": 60}'
--event is something the lead does, after a time since it entered (repeat it):
  --event "2d1h clicked case"        a click on the mail of send step case
  --event "3d clicked day3 key"      a click on the link named key
  --event "1h opened thanks"         an open
  --event "3d form_submitted form=demo-request"   any other event, with its fields
--trigger is the event the lead enters on ("form_submitted form=whitepaper"); given,
the trigger's condition is checked. The clock starts on Monday 2026-04-06 10:00 in
Tokyo unless --start says otherwise. Each mail's subject is shown as the lead would
get it, rendered from the templates in NURTURE_TEMPLATES_DIR.`)
	var events []scenario.TestEvent
	fs.Func("event", `what the lead does: "<after> clicked|opened <step> [link]" or "<after> <type> [key=value...]" (repeatable)`, func(v string) error {
		ev, err := scenario.ParseEvent(v)
		if err != nil {
			return fmt.Errorf("%q: %w", v, err)
		}
		events = append(events, ev)
		return nil
	})
	leadArg := fs.String("lead", "{}", "the lead as a JSON object, or a .json file holding one")
	triggerArg := fs.String("trigger", "", `the event the lead enters on, such as "form_submitted form=whitepaper"; checks the trigger's condition`)
	startArg := fs.String("start", "", "when the lead enters, such as 2027-02-09T20:00 (in the scenario's time zone) or 2026-04-06T10:00:00+09:00 (default, a Monday)")
	settle := fs.Duration("settle", 0, "how long a click waits before it is believed, as NURTURE_CLICK_SETTLE")
	s := newSettings(&cfg)
	s.register(fs, c.getenv, []string{"NURTURE_TEMPLATES_DIR", "NURTURE_LANG"})
	files, err := parseMixed(fs, args)
	if err != nil {
		return err
	}
	l, err := s.language()
	if err != nil {
		return &usageError{err.Error()}
	}
	switch {
	case len(files) == 0:
		return &usageError{"simulate: name the scenario file, such as scenarios/whitepaper-followup.yaml"}
	case len(files) > 1:
		return &usageError{fmt.Sprintf("simulate: one scenario file at a time, not %s", strings.Join(files, " "))}
	}

	opt := scenario.SimOptions{Settle: *settle}
	fields, err := leadJSON(*leadArg)
	if err != nil {
		return &usageError{err.Error()}
	}
	src, err := os.ReadFile(files[0])
	if err != nil {
		return &usageError{fmt.Sprintf("simulate: %v", err)}
	}
	sc, err := scenario.Parse(files[0], src, scenario.Options{})
	if err != nil {
		fmt.Fprintln(c.stdout, lang.Text(l, err))
		return errRejected
	}
	if *startArg != "" {
		// Without an offset, in the scenario's time zone, as dates in the file are.
		t, err := scenario.ParseTime(*startArg, sc.Location, false)
		if err != nil {
			return &usageError{fmt.Sprintf("--start %q is not a time such as 2027-02-09T20:00 or 2026-04-06T10:00:00+09:00", *startArg)}
		}
		opt.Start = t
	}
	lead, err := scenario.LeadFromMap(fields, sc.SimStart(opt.Start))
	if err != nil {
		return &usageError{"--lead: " + strings.ReplaceAll(lang.Join(l, unjoin(err)...), "\n", "; ")}
	}
	if set, err := message.Load(cfg.TemplatesDir); set != nil {
		opt.Subject = subjectOf(set, cfg.BaseURL)
	} else {
		fmt.Fprintln(c.stderr, lang.New("templates not loaded, so subjects are not shown: %v", err).In(l))
	}
	var trigger scenario.EventEnv
	if *triggerArg != "" {
		ev, err := scenario.ParseEvent("0s " + *triggerArg)
		if err != nil || ev.Type == "" {
			return &usageError{fmt.Sprintf("--trigger %q is not an event such as \"form_submitted form=whitepaper\"", *triggerArg)}
		}
		trigger = scenario.EventEnvOf(ev.Type, time.Time{}, ev.Props)
		opt.CheckTrigger = true
	}
	for _, ev := range events {
		if ev.Ref == "" {
			continue
		}
		if st := sc.Step(ev.Ref); st == nil || st.Kind != scenario.KindSend {
			return &usageError{fmt.Sprintf("--event: %s has no send step %q", files[0], ev.Ref)}
		}
	}
	sim, err := scenario.Simulate(sc, lead, trigger, events, opt)
	if err != nil {
		return err
	}
	return sim.WriteTimeline(c.stdout)
}

// subjectOf renders the subject of a template for a simulated lead, from the
// templates in set.
func subjectOf(set *message.Set, baseURL string) func(string, scenario.LeadEnv) (string, error) {
	return func(template string, l scenario.LeadEnv) (string, error) {
		r, err := set.Render(template, message.Data{Lead: l.Lead(), UnsubscribeURL: strings.TrimSuffix(baseURL, "/") + "/u/simulate"})
		if err != nil {
			return "", err
		}
		return r.Subject, nil
	}
}

// leadJSON reads --lead: a JSON object inline, or the name of a file holding one.
func leadJSON(arg string) (map[string]any, error) {
	raw := []byte(arg)
	if !strings.HasPrefix(strings.TrimSpace(arg), "{") {
		b, err := os.ReadFile(arg)
		if err != nil {
			return nil, fmt.Errorf("--lead: %q is neither a JSON object nor a file that can be read: %v", arg, errors.Unwrap(err))
		}
		raw = b
	}
	var fields map[string]any
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	if err := d.Decode(&fields); err != nil || fields == nil {
		return nil, fmt.Errorf("--lead: not a JSON object such as {\"email\": \"a@example.com\", \"score\": 60}: %v", err)
	}
	for k, v := range fields {
		if n, ok := v.(json.Number); ok {
			f, err := n.Float64()
			if err != nil {
				return nil, fmt.Errorf("--lead: %s: %v", k, err)
			}
			fields[k] = f
		}
	}
	return fields, nil
}
