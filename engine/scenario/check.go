package scenario

import (
	"slices"
	"strconv"
	"strings"

	"github.com/nurture-dev/nurture/engine/lang"
)

// check makes the checks that need the whole file: ids, jumps, what wait_until and
// the tests refer to, and loops without a wait.
func (p *parser) check(s *Scenario) {
	if len(s.Steps) == 0 || len(p.steps) != len(s.Steps) {
		return
	}
	// Ids: only ids written in the file can be jumped to.
	ids := map[string]int{} // id → step index
	for i, st := range s.Steps {
		info := p.steps[i]
		if !info.hasID {
			continue
		}
		if j, dup := ids[st.ID]; dup {
			p.errorAt(info.idPos, "the step id %q is already used by the step on line %d", st.ID, s.Steps[j].Pos.Line)
			continue
		}
		ids[st.ID] = i
	}
	known := make([]string, 0, len(ids))
	for id := range ids {
		known = append(known, id)
	}
	slices.Sort(known)

	// Jumps.
	for i := range s.Steps {
		for _, j := range p.steps[i].jumps {
			if j.target == End {
				continue
			}
			if _, ok := ids[j.target]; !ok {
				p.errorAt(j.pos, "%s: no step has the id %q%s", j.key, j.target, didYouMean(j.target, known))
			}
		}
	}

	// What wait_until waits for: an earlier send step.
	for i, st := range s.Steps {
		if st.Kind != KindWaitUntil || st.Ref == "" {
			continue
		}
		pos := p.steps[i].ref
		j, ok := ids[st.Ref]
		switch {
		case !ok:
			p.errorAt(pos, "wait_until %s: no step has the id %q%s", st.Engage, st.Ref, didYouMean(st.Ref, known))
		case s.Steps[j].Kind == "":
			// The step could not be read; its own error says why.
		case s.Steps[j].Kind != KindSend:
			p.errorAt(pos, "wait_until %s: %q is a %s step; a lead can only open or click the mail of a send step", st.Engage, st.Ref, s.Steps[j].Kind)
		case j >= i:
			p.errorAt(pos, "wait_until %s: the send step %q comes after this step; wait_until can only wait on mail sent before it", st.Engage, st.Ref)
		}
	}

	// What if_past: skip skips: the step a wait for a date flows to, which must go on
	// to one step in turn.
	for _, st := range s.Steps {
		if st.Kind != KindWait || st.IfPast != IfPastSkip {
			continue
		}
		after := s.Step(s.next(st))
		switch {
		case after == nil:
			p.errorAt(st.Pos, "if_past: skip skips the step after this wait, and there is none: use if_past: now, or add the step to skip")
		case !slices.Contains([]Kind{KindSend, KindWait, KindUpdate, KindStage, KindEscalate}, after.Kind):
			p.errorAt(st.Pos, "if_past: skip skips the step after this wait, but %q is %s step, which does not go on to one step: put the send (or update, stage, escalate) to skip right after the wait", after.ID, aKind(after.Kind))
		}
	}

	g := newGraph(s)
	p.checkLoops(s, g)
	p.checkSendLoops(s, g)
	p.checkUnreachable(s, g)
	p.checkTests(s)
}

// graph is the steps and where each can go next.
type graph struct {
	succ [][]int
}

func newGraph(s *Scenario) *graph {
	index := map[string]int{}
	for i, st := range s.Steps {
		if _, dup := index[st.ID]; !dup {
			index[st.ID] = i
		}
	}
	g := &graph{succ: make([][]int, len(s.Steps))}
	for i, st := range s.Steps {
		// flow adds an edge to a jump target; "" is the following step, as in
		// Advance.
		flow := func(target string) {
			if target == "" {
				if i+1 < len(s.Steps) {
					g.succ[i] = append(g.succ[i], i+1)
				}
			} else if j, ok := index[target]; ok && target != End {
				g.succ[i] = append(g.succ[i], j)
			}
		}
		switch st.Kind {
		case KindEnd:
		case KindGoto:
			flow(st.Next)
		case KindIf, KindWaitUntil:
			flow(st.Yes)
			flow(st.No)
		case KindSplit:
			for _, path := range st.Paths {
				if path.Next != "" {
					flow(path.Next)
				}
			}
		default:
			flow(st.Next)
		}
	}
	return g
}

// checkLoops reports each loop of steps that has no wait or wait_until in it: a lead
// would go round it at once, forever (or mail on every turn).
func (p *parser) checkLoops(s *Scenario, g *graph) {
	waits := func(i int) bool {
		k := s.Steps[i].Kind
		return k == KindWait || k == KindWaitUntil
	}
	for _, comp := range stronglyConnected(g, waits) {
		if len(comp) == 1 && !slices.Contains(g.succ[comp[0]], comp[0]) {
			continue
		}
		slices.Sort(comp)
		names := make([]string, 0, len(comp)+1)
		for _, i := range comp {
			names = append(names, s.Steps[i].ID)
		}
		names = append(names, names[0])
		p.errorAt(s.Steps[comp[0]].Pos, "the steps %s go round in a loop with no wait in it: add a wait or wait_until step to the loop",
			strings.Join(names, " → "))
	}
}

// checkSendLoops warns about each loop of steps that sends mail: with a wait in it,
// it is a valid file (a reminder until the lead opens, say), but a lead who never
// leaves it is mailed on every turn, for ever; only the frequency cap spaces the
// mail out. (A loop without a wait is an error, reported by checkLoops.)
func (p *parser) checkSendLoops(s *Scenario, g *graph) {
	for _, comp := range stronglyConnected(g, func(int) bool { return false }) {
		if len(comp) == 1 && !slices.Contains(g.succ[comp[0]], comp[0]) {
			continue
		}
		slices.Sort(comp)
		var sends []string
		waits := false
		names := make([]string, 0, len(comp)+1)
		for _, i := range comp {
			st := s.Steps[i]
			names = append(names, st.ID)
			switch st.Kind {
			case KindSend:
				sends = append(sends, st.ID)
			case KindWait, KindWaitUntil:
				waits = true
			}
		}
		if len(sends) == 0 || !waits {
			continue
		}
		names = append(names, names[0])
		p.warnAt(s.Steps[comp[0]].Pos, "the steps %s go round in a loop with a send in it (%s): a lead who stays in the loop is mailed on every turn, "+
			"held back only by the frequency cap (NURTURE_FREQUENCY_CAP); make sure the loop ends, such as with a wait_until whose no: is end",
			strings.Join(names, " → "), strings.Join(sends, ", "))
	}
}

// stronglyConnected returns the strongly connected components of g without the nodes
// skip returns true for (Tarjan's algorithm, iterative so that no file can
// overflow the stack).
func stronglyConnected(g *graph, skip func(int) bool) [][]int {
	n := len(g.succ)
	index, low := make([]int, n), make([]int, n)
	onStack := make([]bool, n)
	for i := range index {
		index[i] = -1
	}
	var (
		stack []int
		comps [][]int
		next  int
	)
	type frame struct{ v, edge int }
	for root := range n {
		if index[root] >= 0 || skip(root) {
			continue
		}
		call := []frame{{root, 0}}
		index[root], low[root] = next, next
		next++
		stack = append(stack, root)
		onStack[root] = true
		for len(call) > 0 {
			f := &call[len(call)-1]
			v := f.v
			if f.edge < len(g.succ[v]) {
				w := g.succ[v][f.edge]
				f.edge++
				switch {
				case skip(w):
				case index[w] < 0:
					index[w], low[w] = next, next
					next++
					stack = append(stack, w)
					onStack[w] = true
					call = append(call, frame{w, 0})
				case onStack[w]:
					low[v] = min(low[v], index[w])
				}
				continue
			}
			call = call[:len(call)-1]
			if len(call) > 0 {
				u := call[len(call)-1].v
				low[u] = min(low[u], low[v])
			}
			if low[v] == index[v] {
				var comp []int
				for {
					w := stack[len(stack)-1]
					stack = stack[:len(stack)-1]
					onStack[w] = false
					comp = append(comp, w)
					if w == v {
						break
					}
				}
				comps = append(comps, comp)
			}
		}
	}
	return comps
}

// checkUnreachable reports a step without an id that nothing flows into: no jump can
// reach it either, so it can never run. (A step with an id might be a jump target
// still being written; it is left alone.)
func (p *parser) checkUnreachable(s *Scenario, g *graph) {
	seen := make([]bool, len(s.Steps))
	seen[0] = true
	queue := []int{0}
	for len(queue) > 0 {
		v := queue[0]
		queue = queue[1:]
		for _, w := range g.succ[v] {
			if !seen[w] {
				seen[w] = true
				queue = append(queue, w)
			}
		}
	}
	for i := 1; i < len(s.Steps); i++ {
		if !seen[i] && seen[i-1] && !p.steps[i].hasID {
			p.errorAt(s.Steps[i].Pos, "this step can never run: the step before it goes elsewhere, and without an id nothing can jump to it")
		}
	}
}

// checkTests checks that tests name send steps.
func (p *parser) checkTests(s *Scenario) {
	sends := []string{}
	for _, st := range s.Steps {
		if st.Kind == KindSend {
			sends = append(sends, st.ID)
		}
	}
	isSend := func(id string) lang.Message {
		st := s.Step(id)
		switch {
		case st == nil:
			return lang.New("no step has the id %s%s", quoteID(id), didYouMean(id, sends))
		case st.Kind == "":
			// The step could not be read; its own error says why.
		case st.Kind != KindSend:
			return lang.New("%s is a %s step, not a send step", quoteID(id), string(st.Kind))
		}
		return lang.Message{}
	}
	for i, t := range s.Tests {
		if i >= len(p.tests) {
			break
		}
		info := p.tests[i]
		for j, id := range t.Expect.Sent {
			if msg := isSend(id); msg.Format != "" && j < len(info.sent) {
				p.errorAt(info.sent[j], "sent: %s", msg)
			}
		}
		for j, ev := range t.Events {
			if ev.AfterSent != "" && j < len(info.afterSent) {
				if msg := isSend(ev.AfterSent); msg.Format != "" {
					p.errorAt(info.afterSent[j], "after_sent: %s", msg)
				}
			}
			if ev.Ref == "" || j >= len(info.events) {
				continue
			}
			if msg := isSend(ev.Ref); msg.Format != "" {
				p.errorAt(info.events[j], "%s: %s", ev.Engage, msg)
			}
		}
	}
}

func quoteID(id string) string { return strconv.Quote(id) }
