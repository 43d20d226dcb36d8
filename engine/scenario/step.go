package scenario

import (
	"slices"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml/ast"

	"github.com/nurture-dev/nurture/engine/lang"
	"github.com/nurture-dev/nurture/engine/lead"
)

// stepList reads steps: a list of steps, each a mapping or the word end.
func (p *parser) stepList(e entry) []*Step {
	items, ok := p.list(e, "steps", false)
	if !ok {
		return nil
	}
	if len(items) == 0 {
		p.errorAt(e.pos, "steps is empty: a scenario needs at least one step")
		return nil
	}
	if len(items) > maxSteps {
		p.errorAt(e.pos, "a scenario has at most %d steps; split it into several scenarios", maxSteps)
		return nil
	}
	steps := make([]*Step, 0, len(items))
	p.steps = make([]stepInfo, 0, len(items))
	for i, it := range items {
		st, info := p.step(i, it)
		steps = append(steps, st)
		p.steps = append(p.steps, info)
	}
	return steps
}

// step reads one step; its kind is the one kind key it has.
func (p *parser) step(i int, n ast.Node) (*Step, stepInfo) {
	st := &Step{ID: "step-" + strconv.Itoa(i+1), Pos: posOf(n)}
	var info stepInfo
	n = p.unwrap(n)
	if n == nil {
		return st, info
	}
	if s, ok := scalarText(n); ok && s == End {
		st.Kind = KindEnd
		return st, info
	}
	o := p.object(n, "in a step", stepKeys)
	if o == nil {
		return st, info
	}
	st.Pos = o.pos

	if e, ok := o.get("id"); ok {
		if id, ok := p.text(e, "a step's id"); ok {
			if msg := checkID(id); msg != "" {
				p.errorf(e.val, "the step id %q %s", id, msg)
			} else if strings.HasPrefix(id, "step-") && id != st.ID && isDigits(id[len("step-"):]) {
				p.errorf(e.val, "ids such as %q name steps that have no id; choose another", id)
			} else {
				st.ID, info.hasID, info.idPos = id, true, posOf(e.val)
			}
		}
	}

	// Its kind.
	var kinds []entry
	for _, e := range o.entries {
		if slices.Contains(kindKeys, e.key) {
			kinds = append(kinds, e)
		}
	}
	if len(kinds) == 0 && o.has("variants") {
		kinds = []entry{{key: "send"}}
	}
	switch len(kinds) {
	case 0:
		if !slices.ContainsFunc(o.typos, func(k string) bool { return slices.Contains(kindKeys, k) || k == "variants" }) {
			p.errorAt(st.Pos, "this step does nothing: give it one of %s", strings.Join(kindKeys, ", "))
		}
		return st, info
	case 1:
	default:
		p.errorAt(kinds[1].pos, "a step does one thing, and this one has both %q and %q: make them two steps", kinds[0].key, kinds[1].key)
		return st, info
	}
	k := kinds[0]
	st.Kind = Kind(k.key)

	// Keys that only go with some kinds.
	for _, e := range o.entries {
		var with []Kind
		switch e.key {
		case "subject", "variants", "window":
			with = []Kind{KindSend}
		case "yes", "no":
			with = []Kind{KindIf, KindWaitUntil}
		case "next":
			switch st.Kind {
			case KindGoto, KindEnd:
				p.errorAt(e.pos, "%s step goes nowhere after it, so it has no next", aKind(st.Kind))
			case KindIf, KindWaitUntil:
				p.errorAt(e.pos, "%s step goes on by yes and no (each flows to the following step when left out), not by next", aKind(st.Kind))
			case KindSplit:
				p.errorAt(e.pos, "a split goes on by the next of each of its paths, not by its own next")
			}
			continue
		default:
			continue
		}
		if !slices.Contains(with, st.Kind) {
			p.errorAt(e.pos, "%q only goes with %s step, and this is %s step", e.key, aKind(joinKinds(with)), aKind(st.Kind))
		}
	}

	jumpTo := func(e entry) string {
		t, ok := p.text(e, e.key)
		if !ok {
			return ""
		}
		info.jumps = append(info.jumps, jump{key: e.key, target: t, pos: posOf(e.val)})
		return t
	}
	if e, ok := o.get("next"); ok && !slices.Contains([]Kind{KindGoto, KindEnd, KindIf, KindWaitUntil, KindSplit}, st.Kind) {
		st.Next = jumpTo(e)
	}
	if st.Kind == KindIf || st.Kind == KindWaitUntil {
		if e, ok := o.get("yes"); ok {
			st.Yes = jumpTo(e)
		}
		if e, ok := o.get("no"); ok {
			st.No = jumpTo(e)
		}
	}

	switch st.Kind {
	case KindSend:
		p.send(st, o, k)
	case KindWait:
		p.wait(st, k)
	case KindWaitUntil:
		p.waitUntil(st, &info, k)
	case KindIf:
		st.Cond = p.expr(k)
		if st.Cond != nil && usesName(st.Cond, "event") {
			p.errorAt(st.Cond.Pos, "a step's condition sees the lead, not an event (no event woke the step): ask what the lead did with visited(\"/pricing\", \"30d\"), submitted(\"seminar\") or opened_count(\"14d\"), or wait for it with wait_until")
			st.Cond = nil
		}
	case KindSplit:
		p.split(st, &info, k)
	case KindUpdate:
		st.Update = p.update(k)
	case KindStage:
		if s, ok := p.text(k, "stage"); ok {
			if !slices.Contains(Stages, s) {
				p.errorf(k.val, "unknown stage %q: stages are %s%s", s, strings.Join(Stages, ", "), didYouMean(s, Stages))
			}
			st.Stage = s
		}
	case KindEscalate:
		if _, isBool := p.unwrap(k.val).(*ast.BoolNode); isBool {
			p.errorf(k.val, "escalate needs a reason for sales, such as \"Clicked the case study\"")
		} else if s, ok := p.text(k, "escalate"); ok {
			st.Reason = s
		}
	case KindGoto:
		st.Next = jumpTo(k)
	case KindEnd:
		if v := p.unwrap(k.val); v != nil {
			switch v := v.(type) {
			case *ast.NullNode:
			case *ast.BoolNode:
				if !v.Value {
					p.errorf(v, "end: false does nothing; remove the step, or write end: true")
				}
			default:
				p.errorf(v, "end must be true")
			}
		}
	}
	return st, info
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// aKind is "a send", "an if".
func aKind[K ~string](k K) lang.Message {
	if strings.ContainsRune("aeiou", rune(k[0])) {
		return lang.New("an %s", string(k))
	}
	return lang.New("a %s", string(k))
}

func joinKinds(ks []Kind) string {
	s := make([]string, len(ks))
	for i, k := range ks {
		s[i] = string(k)
	}
	return strings.Join(s, " or ")
}

// send reads send: template (with subject), or variants for an A/B test.
func (p *parser) send(st *Step, o *object, k entry) {
	if e, ok := o.get("subject"); ok {
		st.Subject, _ = p.text(e, "subject")
	}
	if e, ok := o.get("window"); ok {
		if s, ok := p.text(e, "window"); ok {
			if s != "ignore" {
				p.errorf(e.val, "a send step's window can only be ignore (send at once, whatever send_window says), not %q", s)
			} else {
				st.IgnoreWindow = true
			}
		}
	}
	v, hasVariants := o.get("variants")
	if k.val != nil {
		if _, null := p.unwrap(k.val).(*ast.NullNode); !null || !hasVariants {
			if hasVariants {
				p.errorAt(v.pos, "a send step has either a template or variants, not both")
				return
			}
			if t, ok := p.text(k, "send"); ok {
				st.Template = t
				p.template(k.val, t)
			}
			return
		}
	}
	items, ok := p.list(v, "variants", false)
	if !ok {
		return
	}
	if len(items) < 2 {
		p.errorAt(v.pos, "an A/B test needs at least two variants; with one, write send: template")
	}
	names := map[string]bool{}
	for i, it := range items {
		vo := p.object(it, "in a variant", variantKeys)
		if vo == nil {
			continue
		}
		va := Variant{Subject: st.Subject, Weight: 1}
		if e, ok := vo.get("template"); ok {
			if t, ok := p.text(e, "a variant's template"); ok {
				va.Template = t
				p.template(e.val, t)
			}
		} else if vo.lacks("template") {
			p.errorAt(vo.pos, "variant %d has no template", i+1)
		}
		if e, ok := vo.get("subject"); ok {
			va.Subject, _ = p.text(e, "a variant's subject")
		}
		if e, ok := vo.get("weight"); ok {
			va.Weight = p.weight(e)
		}
		va.Name = va.Template
		namePos := vo.pos
		if e, ok := vo.get("name"); ok {
			va.Name, _ = p.text(e, "a variant's name")
			namePos = posOf(e.val)
		}
		if va.Name != "" && names[va.Name] {
			p.errorAt(namePos, "two variants are called %q: give each its own name", va.Name)
		}
		names[va.Name] = true
		st.Variants = append(st.Variants, va)
	}
}

// template checks that a template exists.
func (p *parser) template(n ast.Node, name string) {
	if p.opts.HasTemplate == nil || p.opts.HasTemplate(name) {
		return
	}
	for _, ext := range []string{".md", ".html"} {
		if base, ok := strings.CutSuffix(name, ext); ok && p.opts.HasTemplate(base) {
			p.errorf(n, "a template is named without %s: write %s", ext, base)
			return
		}
	}
	p.errorf(n, "there is no template %q under templates/%s", name, didYouMean(name, p.opts.TemplateNames))
}

// weight reads a positive weight.
func (p *parser) weight(e entry) int {
	w, ok := p.integer(e, "weight")
	if ok && w <= 0 {
		p.errorf(e.val, "a weight must be more than zero, not %d", w)
		return 0
	}
	if ok && w > 1_000_000 {
		p.errorf(e.val, "a weight of %d is too large; weights are shares such as 50 and 50", w)
		return 0
	}
	return w
}

// wait reads wait: 2d or 2bd, wait: {until: "09:00"}, or a wait for a date:
// {until: 2027-02-09T10:00, if_past}, {before | after: event_date | attributes.<name>,
// by, if_past}.
func (p *parser) wait(st *Step, k entry) {
	n := p.unwrap(k.val)
	switch n.(type) {
	case nil:
		return
	case *ast.MappingNode, *ast.MappingValueNode:
	default:
		if s, ok := scalarText(n); ok {
			if days, isBD, err := parseBusinessDays(s); isBD {
				if err != nil {
					p.errorf(n, "wait %q: %v", s, err)
				}
				st.BusinessDays = days
				return
			}
		}
		st.Wait, _ = p.duration(k, "wait", false)
		return
	}
	o := p.object(n, "in wait", waitKeys)
	if o == nil {
		return
	}
	var whens []entry
	for _, key := range []string{"until", "before", "after"} {
		if e, ok := o.get(key); ok {
			whens = append(whens, e)
		}
	}
	ip, hasIfPast := o.get("if_past")
	by, hasBy := o.get("by")
	switch len(whens) {
	case 0:
		if o.lacks("until") && o.lacks("before") && o.lacks("after") {
			p.errorAt(o.pos, "wait needs a time such as 2d, or until: \"09:00\", until: 2027-02-09T10:00, or before: or after: a date such as event_date")
		}
		return
	case 1:
	default:
		p.errorAt(whens[1].pos, "a wait has one of until, before and after, and this one has both %q and %q: make them two steps", whens[0].key, whens[1].key)
		return
	}
	e := whens[0]
	date := true
	if e.key == "until" {
		s, ok := p.text(e, "until")
		if !ok {
			return
		}
		if m, err := parseClock(s, false); err == nil {
			st.Until, date = &m, false
		} else if strings.Contains(s, "-") {
			st.At, ok = p.date(e, "wait until", false)
			if !ok {
				return
			}
		} else {
			p.errorf(e.val, "wait until: %v, or a date and time such as 2027-02-09T10:00", err)
			return
		}
		if hasBy {
			p.errorAt(by.pos, "by goes with before: or after:, such as before: event_date, by: 1d")
		}
	} else {
		ref, ok := p.text(e, e.key)
		if !ok {
			return
		}
		switch name, isAttr := strings.CutPrefix(ref, "attributes."); {
		case ref == EventDateRef:
			if !p.hasEventDate {
				p.errorf(e.val, "there is no event_date: add event_date: 2027-02-10T14:00 at the top of the file, or wait on a date the lead holds with attributes.<name>")
			}
		case isAttr && name != "":
		default:
			p.errorf(e.val, "%s takes event_date, or attributes.<name> for a date the lead holds (such as attributes.seminar_at), not %q", e.key, ref)
			return
		}
		st.DateRef = ref
		if hasBy {
			d, _ := p.duration(by, "by", true)
			st.Offset = d
			if e.key == "before" {
				st.Offset = -d
			}
		}
	}
	if !date {
		if hasIfPast {
			p.errorAt(ip.pos, "if_past goes with a wait for a date (until: 2027-02-09T10:00, before: or after:); a time of day always comes again")
		}
		return
	}
	if !hasIfPast {
		if o.lacks("if_past") {
			p.errorAt(o.pos, "this wait is for a date that may have passed when a lead gets here (a late sign-up, say): choose what happens then with if_past: skip (skip the step after this wait) or if_past: now (go on at once)")
		}
		st.IfPast = IfPastNow // for the checks that follow; the file is refused
		return
	}
	s, ok := p.text(ip, "if_past")
	if !ok {
		return
	}
	switch IfPast(s) {
	case IfPastSkip, IfPastNow:
		st.IfPast = IfPast(s)
	default:
		p.errorf(ip.val, "if_past must be skip (skip the step after this wait) or now (go on at once), not %q%s", s, didYouMean(s, []string{"skip", "now"}))
		st.IfPast = IfPastNow
	}
}

// waitUntil reads wait_until: {clicked | opened: step, link, within}.
func (p *parser) waitUntil(st *Step, info *stepInfo, k entry) {
	o := p.object(k.val, "in wait_until", waitUntilKeys)
	if o == nil {
		return
	}
	c, clicked := o.get("clicked")
	op, opened := o.get("opened")
	switch {
	case clicked && opened:
		p.errorAt(op.pos, "wait_until waits for one thing: clicked or opened, not both")
	case clicked:
		st.Engage = Clicked
		st.Ref, _ = p.text(c, "clicked")
		info.ref = posOf(c.val)
	case opened:
		st.Engage = Opened
		st.Ref, _ = p.text(op, "opened")
		info.ref = posOf(op.val)
	default:
		if o.lacks("clicked") && o.lacks("opened") {
			p.errorAt(o.pos, "wait_until needs what to wait for: clicked: <send step id> or opened: <send step id>")
		}
	}
	if e, ok := o.get("link"); ok {
		if opened && !clicked {
			p.errorAt(e.pos, "link goes with clicked: a lead opens the whole message, not a link")
		} else {
			st.Link, _ = p.text(e, "link")
		}
	}
	if e, ok := o.get("within"); ok {
		v, _ := scalarText(p.unwrap(e.val))
		if days, isBD, err := parseBusinessDays(v); isBD {
			if err != nil {
				p.errorf(p.unwrap(e.val), "within %q: %v", v, err)
			}
			st.WithinBusinessDays = days
		} else {
			st.Within, _ = p.duration(e, "within", false)
		}
	} else if o.lacks("within") {
		p.errorAt(o.pos, "wait_until needs within: how long to wait, such as within: 3d")
	}
}

// split reads split: [{weight, next, name}, ...].
func (p *parser) split(st *Step, info *stepInfo, k entry) {
	items, ok := p.list(k, "split", false)
	if !ok {
		return
	}
	if len(items) < 2 {
		p.errorAt(k.pos, "a split needs at least two paths")
	}
	names := map[string]bool{}
	for i, it := range items {
		o := p.object(it, "in a split path", pathKeys)
		if o == nil {
			continue
		}
		path := Path{Name: "path-" + strconv.Itoa(i+1), Weight: 1}
		if e, ok := o.get("weight"); ok {
			path.Weight = p.weight(e)
		}
		if e, ok := o.get("next"); ok {
			if t, ok := p.text(e, "next"); ok {
				path.Next = t
				info.jumps = append(info.jumps, jump{key: "next", target: t, pos: posOf(e.val)})
			}
		} else if o.lacks("next") {
			p.errorAt(o.pos, "path %d of the split has no next: say which step it goes to (or end)", i+1)
		}
		if e, ok := o.get("name"); ok {
			if s, ok := p.text(e, "a path's name"); ok {
				if names[s] {
					p.errorf(e.val, "two paths are called %q: give each its own name", s)
				}
				path.Name = s
			}
		}
		names[path.Name] = true
		st.Paths = append(st.Paths, path)
	}
}

// updateFields are the lead fields an update may set; attributes.<key> sets one
// attribute.
var updateFields = []string{"first_name", "last_name", "company", "department", "title", "phone",
	"employees", "industry", "country", "timezone", "source", "consent"}

// update reads update: {tags, remove_tags, fields, points}.
func (p *parser) update(k entry) *Update {
	o := p.object(k.val, "in update", updateKeys)
	if o == nil {
		return nil
	}
	u := &Update{}
	if e, ok := o.get("tags"); ok {
		u.AddTags = p.texts(e, "tags", true)
	}
	if e, ok := o.get("remove_tags"); ok {
		u.RemoveTags = p.texts(e, "remove_tags", true)
	}
	if e, ok := o.get("points"); ok {
		if n, ok := p.integer(e, "points"); ok {
			if n < -10000 || n > 10000 {
				p.errorf(e.val, "points must be between -10000 and 10000, not %d", n)
			}
			u.Points = n
		}
	}
	if e, ok := o.get("fields"); ok {
		// Field names are checked by updateField rather than by object, for a
		// better message.
		if fo := p.object(e.val, "in fields", nil); fo != nil {
			u.Fields = map[string]string{}
			for _, f := range fo.entries {
				p.updateField(u, f)
			}
		}
	}
	if !o.has("tags") && !o.has("remove_tags") && !o.has("fields") && u.Points == 0 && len(o.typos) == 0 {
		p.errorAt(k.pos, "this update changes nothing: give it tags, remove_tags, fields or points")
	}
	return u
}

// updateField checks and keeps one field of an update.
func (p *parser) updateField(u *Update, f entry) {
	name := f.key
	if a, ok := strings.CutPrefix(name, "attributes."); ok {
		if a == "" {
			p.errorAt(f.pos, "attributes. needs a name after it, such as attributes.plan")
			return
		}
	} else if !slices.Contains(updateFields, name) {
		p.errorAt(f.pos, "an update cannot set the lead field %q%s; fields are %s, or attributes.<name>",
			name, didYouMean(name, updateFields), strings.Join(updateFields, ", "))
		return
	}
	n := p.unwrap(f.val)
	if n == nil {
		return
	}
	v, ok := scalarText(n)
	if !ok {
		if _, null := n.(*ast.NullNode); !null {
			p.errorf(n, "the field %s must be set to text or a number, not %s", name, describe(n))
			return
		}
		v = "" // clears the field
	}
	switch name {
	case "employees":
		if _, err := strconv.Atoi(v); err != nil && v != "" {
			p.errorf(n, "employees must be a whole number, not %q", v)
			return
		}
	case "consent":
		if v != lead.ConsentUnknown && v != lead.ConsentGranted && v != lead.ConsentDenied {
			p.errorf(n, "consent must be %s, %s or %s, not %q", lead.ConsentUnknown, lead.ConsentGranted, lead.ConsentDenied, v)
			return
		}
	}
	u.Fields[name] = v
}

// testList reads tests.
func (p *parser) testList(e entry) []Test {
	items, ok := p.list(e, "tests", false)
	if !ok {
		return nil
	}
	var tests []Test
	names := map[string]bool{}
	for i, it := range items {
		o := p.object(it, "in a test", testKeys)
		if o == nil {
			continue
		}
		t := Test{Pos: o.pos}
		var info testInfo
		if e, ok := o.get("name"); ok {
			if s, ok := p.text(e, "a test's name"); ok {
				if names[s] {
					p.errorf(e.val, "two tests are called %q: give each its own name", s)
				}
				names[s] = true
				t.Name = s
			}
		} else if o.lacks("name") {
			p.errorAt(o.pos, "test %d has no name: say what it shows, such as name: a clicker is escalated", i+1)
		}
		if e, ok := o.get("start"); ok {
			t.Start, _ = p.date(e, "start", false)
		}
		if e, ok := o.get("lead"); ok {
			if lo := p.object(e.val, "in a test's lead", leadKeys); lo != nil {
				t.Lead = p.values(lo)
			}
		}
		if e, ok := o.get("event"); ok {
			n := p.unwrap(e.val)
			if _, isMap := n.(*ast.MappingNode); isMap || isMappingValue(n) {
				t.Event, _ = p.value(n, 0).(map[string]any)
			} else if n != nil {
				p.errorf(n, "a test's event must be keys and values such as { form: whitepaper }, not %s", describe(n))
			}
		}
		if e, ok := o.get("events"); ok {
			evs, _ := p.list(e, "events", false)
			for _, ev := range evs {
				te, pos, sent, ok := p.testEvent(ev)
				if ok {
					t.Events = append(t.Events, te)
					info.events = append(info.events, pos)
					info.afterSent = append(info.afterSent, sent)
				}
			}
		}
		if e, ok := o.get("expect"); ok {
			t.Expect = p.expect(e, &info)
		} else if o.lacks("expect") {
			p.errorAt(o.pos, "the test has no expect: say what must come of it, such as expect: { sent: [thanks] }")
		}
		tests = append(tests, t)
		p.tests = append(p.tests, info)
	}
	return tests
}

func isMappingValue(n ast.Node) bool {
	_, ok := n.(*ast.MappingValueNode)
	return ok
}

// testEvent reads one of a test's events.
func (p *parser) testEvent(n ast.Node) (te TestEvent, ref, sent Pos, ok bool) {
	o := p.object(n, "in a test's event", testEventKeys)
	if o == nil {
		return te, Pos{}, Pos{}, false
	}
	var whens []entry
	for _, k := range []string{"after", "at", "after_sent"} {
		if e, ok := o.get(k); ok {
			whens = append(whens, e)
		}
	}
	in, hasIn := o.get("in")
	switch {
	case len(whens) > 1:
		p.errorAt(whens[1].pos, "an event happens at one time: it has both %q and %q", whens[0].key, whens[1].key)
	case len(whens) == 0:
		if o.lacks("after") && o.lacks("at") && o.lacks("after_sent") {
			p.errorAt(o.pos, "the event needs when it happens: after: 2d1h (after the lead entered), at: 2027-02-09T12:00, or after_sent: <send step> with in: 1d")
		}
	case whens[0].key == "after":
		te.After, _ = p.duration(whens[0], "after", true)
	case whens[0].key == "at":
		te.At, _ = p.date(whens[0], "at", false)
	default:
		te.AfterSent, _ = p.text(whens[0], "after_sent")
		sent = posOf(whens[0].val)
		if hasIn {
			te.After, _ = p.duration(in, "in", true)
		}
	}
	if hasIn && (len(whens) != 1 || whens[0].key != "after_sent") {
		p.errorAt(in.pos, "in goes with after_sent: { after_sent: survey, in: 1d } happens a day after the step survey sent its mail")
	}
	var what []entry
	for _, k := range []string{"clicked", "opened", "type"} {
		if e, ok := o.get(k); ok {
			what = append(what, e)
		}
	}
	switch len(what) {
	case 0:
		p.errorAt(o.pos, "the event needs what happens: clicked: <send step>, opened: <send step> or type: <event type>")
	case 1:
		e := what[0]
		s, _ := p.text(e, e.key)
		switch e.key {
		case "clicked":
			te.Engage, te.Ref, ref = Clicked, s, posOf(e.val)
		case "opened":
			te.Engage, te.Ref, ref = Opened, s, posOf(e.val)
		case "type":
			te.Type = s
		}
	default:
		p.errorAt(what[1].pos, "an event is one thing: it has both %q and %q", what[0].key, what[1].key)
	}
	if e, ok := o.get("link"); ok {
		if te.Engage != Clicked {
			p.errorAt(e.pos, "link goes with clicked")
		} else {
			te.Link, _ = p.text(e, "link")
		}
	}
	if e, ok := o.get("props"); ok {
		if te.Type == "" {
			p.errorAt(e.pos, "props go with type: an event of another kind")
		} else if po := p.object(e.val, "in props", nil); po != nil {
			te.Props = map[string]any{}
			for _, pe := range po.entries {
				te.Props[pe.key] = p.value(pe.val, 0)
			}
		}
	}
	return te, ref, sent, true
}

// expect reads a test's expect.
func (p *parser) expect(e entry, info *testInfo) Expect {
	var x Expect
	o := p.object(e.val, "in expect", expectKeys)
	if o == nil {
		return x
	}
	if e, ok := o.get("sent"); ok {
		items, _ := p.list(e, "sent", false)
		x.Sent = []string{}
		for _, it := range items {
			if s, ok := p.text(entry{key: "sent", pos: posOf(it), val: it}, "each step in sent"); ok {
				x.Sent = append(x.Sent, s)
				info.sent = append(info.sent, posOf(it))
			}
		}
	}
	if e, ok := o.get("escalated"); ok {
		if b, ok := p.boolean(e, "escalated"); ok {
			x.Escalated = &b
		}
	}
	if e, ok := o.get("stage"); ok {
		if s, ok := p.text(e, "stage"); ok {
			if !slices.Contains(Stages, s) {
				p.errorf(e.val, "unknown stage %q: stages are %s%s", s, strings.Join(Stages, ", "), didYouMean(s, Stages))
			}
			x.Stage = &s
		}
	}
	if e, ok := o.get("exit"); ok {
		if s, ok := p.text(e, "exit"); ok {
			exits := []string{"completed", "goal", "exit", "running"}
			if !slices.Contains(exits, s) {
				p.errorf(e.val, "exit must be completed, goal, exit or running, not %q%s", s, didYouMean(s, exits))
			}
			if s == "running" {
				s = ""
			}
			x.Exit = &s
		}
	}
	if e, ok := o.get("tags"); ok {
		x.Tags = p.texts(e, "tags", true)
	}
	return x
}

// values turns a mapping's entries into Go values.
func (p *parser) values(o *object) map[string]any {
	m := make(map[string]any, len(o.entries))
	for _, e := range o.entries {
		m[e.key] = p.value(e.val, 0)
	}
	return m
}

// value turns YAML into Go values: maps, slices, strings, int64, float64, bool, nil.
func (p *parser) value(n ast.Node, depth int) any {
	if depth > 20 {
		p.errorf(n, "this value is nested too deeply")
		return nil
	}
	n = p.unwrap(n)
	switch v := n.(type) {
	case nil, *ast.NullNode:
		return nil
	case *ast.MappingNode, *ast.MappingValueNode:
		o := p.object(v, "in this value", nil)
		if o == nil {
			return nil
		}
		m := map[string]any{}
		for _, e := range o.entries {
			m[e.key] = p.value(e.val, depth+1)
		}
		return m
	case *ast.SequenceNode:
		out := make([]any, 0, len(v.Values))
		for _, it := range v.Values {
			out = append(out, p.value(it, depth+1))
		}
		return out
	case *ast.BoolNode:
		return v.Value
	case *ast.IntegerNode:
		switch i := v.Value.(type) {
		case int64:
			return i
		case uint64:
			if i <= 1<<63-1 {
				return int64(i)
			}
		}
		return v.GetToken().Value
	case *ast.FloatNode:
		return v.Value
	}
	s, _ := scalarText(n)
	return s
}
