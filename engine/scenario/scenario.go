// Package scenario reads marketers' scenario files (scenarios/README.md documents them for marketers), checks
// them, and runs their steps. Parsing and checking turn a file into a Scenario, or into
// a list of *Error naming file:line:column. Advance is the step code: the River workers
// of engine/flow and the simulator both call it, so what `nurture simulate` prints is
// what the workers do. Nothing here touches the database or the clock: time, the lead
// and engagement are parameters.
package scenario

import (
	"time"

	"github.com/robfig/cron/v3"
)

// Scenario is one checked scenario file.
type Scenario struct {
	// ID names the scenario; it defaults to the file name without ".yaml".
	ID   string
	Name string
	// File is the path the scenario was read from.
	File string
	// Version identifies the file's content: an edited file is a new version, and
	// running enrollments finish on the version they started on.
	Version string
	// Source is the file as read, kept with each version so that a version can be
	// loaded again after its file has changed.
	Source []byte

	Trigger  Trigger
	Reenroll Reenroll
	// ExitIf ends an enrollment when true (checked before every step and when an event
	// arrives); nil never exits.
	ExitIf *Expr
	// Goal ends an enrollment as reached when an arriving event makes it true; nil
	// has no goal.
	Goal *Expr
	// Window holds sends to allowed days and hours; nil sends at any time.
	Window *SendWindow
	// Location is the time zone of the dates the file writes without an offset
	// (waits until a date, event_date, one-off schedules, tests' start): send_window's
	// timezone when the window gives one, else Asia/Tokyo.
	Location *time.Location
	// EventDate is the date the scenario is about (a seminar's start), which waits
	// may count from (before: event_date); zero when the file gives none.
	EventDate time.Time
	// Steps in file order; the first one is where an enrollment starts.
	Steps []*Step
	// Tests are the file's own tests, run on the simulator by `nurture check`.
	Tests []Test
	// Warnings are what `nurture check` reports about the file without refusing it,
	// such as a loop that sends mail: the scenario runs as written.
	Warnings Errors

	byID  map[string]*Step
	idPos Pos // where the id is written; zero when it comes from the file name
}

// Step returns the step with the given id, or nil.
func (s *Scenario) Step(id string) *Step {
	if s.byID == nil {
		s.index()
	}
	return s.byID[id]
}

func (s *Scenario) index() {
	s.byID = make(map[string]*Step, len(s.Steps))
	for _, st := range s.Steps {
		s.byID[st.ID] = st
	}
}

// Trigger says when a lead enters: on an event (with an optional condition over the
// lead and the event), on a cron schedule or once at a date (with a condition over
// the lead).
type Trigger struct {
	// Event is an event type: lead_created, form_submitted, page_visited,
	// stage_changed, manual, or a custom type sent through the API. Empty for a
	// scheduled trigger.
	Event string
	// Schedule is the cron spec as written ("0 9 * * MON-FRI"), Cron its parsed form
	// (standard five fields, in the scenario's time zone). Empty and nil for an event
	// trigger. For a schedule with an end (until:) or a one-off schedule (at:), Cron
	// stops after Until or fires once at At; Schedule is empty for at:. Cron is set
	// for every scheduled trigger, and its Next returns the zero time when it will
	// not fire again.
	Schedule string
	Cron     cron.Schedule
	// At is when a one-off schedule fires, Until the last moment a cron schedule
	// may fire; zero when not given.
	At, Until time.Time
	// If must be true for the lead to enter; nil lets every lead in.
	If *Expr
}

// Reenroll says whether a lead that was enrolled before may enter again.
type Reenroll struct {
	// Kind is ReenrollNever (the default), ReenrollAlways or ReenrollAfter.
	Kind string
	// After is how long after its last enrollment started a lead may enter again,
	// for ReenrollAfter.
	After time.Duration
}

// Reenroll kinds.
const (
	ReenrollNever  = "never"
	ReenrollAlways = "always"
	ReenrollAfter  = "after"
)

// SendWindow holds sends to certain days and hours.
type SendWindow struct {
	// Days are the weekdays on which mail may go out; all seven when none are given.
	Days [7]bool // indexed by time.Weekday
	// From and To are the allowed hours as minutes after midnight, From inclusive and
	// To exclusive ("09:00-18:00" is 540 and 1080). To may be 1440.
	From, To int
	// Location is the window's time zone; a lead's own time zone, when known, wins.
	Location *time.Location
	// SkipHolidays names a holiday calendar ("JP") whose days are outside the window;
	// empty skips none.
	SkipHolidays string
}

// Kind is what a step does.
type Kind string

// Step kinds.
const (
	KindSend      Kind = "send"
	KindWait      Kind = "wait"
	KindWaitUntil Kind = "wait_until"
	KindIf        Kind = "if"
	KindSplit     Kind = "split"
	KindUpdate    Kind = "update"
	KindStage     Kind = "stage"
	KindEscalate  Kind = "escalate"
	KindGoto      Kind = "goto"
	KindEnd       Kind = "end"
)

// End is the jump target that ends an enrollment ("next: end").
const End = "end"

// Pos is a position in a scenario file, 1-based.
type Pos struct {
	Line, Column int
}

// Step is one step of a scenario. Which fields are set depends on Kind.
type Step struct {
	// ID names the step; steps without an id in the file get "step-N" (N its 1-based
	// position), which nothing can jump to.
	ID   string
	Kind Kind
	Pos  Pos
	// Next is where to go after this step: a step id or End. Empty flows to the
	// following step in the file (or ends after the last). For KindGoto it is the
	// target.
	Next string

	// Send (KindSend): the template under templates/, or weighted Variants (A/B) of
	// which one is picked per lead, stable for that lead. Subject, when set,
	// overrides the template's subject.
	Template string
	Subject  string
	Variants []Variant
	// IgnoreWindow (window: ignore) sends at once whatever the send window says, for
	// confirmations the lead is waiting for.
	IgnoreWindow bool

	// Wait (KindWait): a duration, BusinessDays business days (see
	// Scenario.AddBusinessDays), or, with Until set, until the next time of day
	// Until (minutes after midnight) in the lead's or the window's time zone.
	Wait         time.Duration
	BusinessDays int
	Until        *int
	// A wait for a date (KindWait with IfPast set): until At, or until the date
	// DateRef holds (EventDate for "event_date", a lead attribute for
	// "attributes.<name>") moved by Offset (negative for before:). IfPast says what
	// happens when that moment had passed when the lead reached the step.
	At      time.Time
	DateRef string
	Offset  time.Duration
	IfPast  IfPast

	// WaitUntil (KindWaitUntil): waits for the lead to open or click the message of
	// the earlier send step Ref (a link named Link, when set) for at most Within,
	// then goes to Yes (engaged) or No (the window closed).
	Engage EngageKind
	Ref    string
	Link   string
	Within time.Duration
	// WithinBusinessDays, when set, replaces Within: that many business days.
	WithinBusinessDays int

	// If (KindIf): Cond decides between Yes and No.
	Cond *Expr
	// Yes and No are the branches of KindIf and KindWaitUntil: step ids or End.
	Yes, No string

	// Split (KindSplit): weighted paths, one picked per lead, stable for that lead.
	Paths []Path

	// Update (KindUpdate).
	Update *Update

	// Stage (KindStage): the lifecycle stage to set.
	Stage string

	// Reason (KindEscalate): why the lead goes to sales.
	Reason string
}

// IfPast is what a wait for a date does when the date had passed as the lead reached it.
type IfPast string

// What a wait for a date may do when its moment has passed.
const (
	// IfPastSkip skips the step after the wait (a reminder for a seminar already
	// under way) and goes on with the one after that.
	IfPastSkip IfPast = "skip"
	// IfPastNow goes on at once.
	IfPastNow IfPast = "now"
)

// EventDateRef names the scenario's event_date in before: and after:.
const EventDateRef = "event_date"

// EngageKind is what a wait_until step waits for.
type EngageKind string

// Engagement kinds.
const (
	Opened  EngageKind = "opened"
	Clicked EngageKind = "clicked"
)

// Variant is one A/B variant of a send step.
type Variant struct {
	Name     string // defaults to the template name
	Template string
	Subject  string
	Weight   int
}

// Path is one weighted path of a split step.
type Path struct {
	Name   string
	Weight int
	Next   string
}

// Update changes a lead: tags added and removed, fields set, score points given.
type Update struct {
	AddTags    []string
	RemoveTags []string
	// Fields are lead fields by name (first_name, company, … or attributes.<key>) and
	// their new values.
	Fields map[string]string
	Points int
}

// Test is one of a file's tests: a lead, the events that happen to it (each after a
// time since enrollment), and what must come of it.
type Test struct {
	Name string
	Pos  Pos
	// Start is when the lead enters; zero is DefaultSimStart.
	Start time.Time
	// Lead is the test lead as given in the file (lead fields by their JSON names).
	Lead map[string]any
	// Event is the triggering event's fields (type, form, url, …); empty uses the
	// trigger's event type.
	Event  map[string]any
	Events []TestEvent
	Expect Expect
}

// TestEvent is something the test lead does: opens or clicks the message of a send
// step (Link names a link when clicking), or another event (Type with Props). It
// happens After the enrollment started, or at At when that is set, or After the send
// step AfterSent first sent its mail when that is set.
type TestEvent struct {
	After     time.Duration
	At        time.Time
	AfterSent string
	Engage    EngageKind // Opened or Clicked, or empty for another event
	Ref       string     // the send step whose message is opened or clicked
	Link      string
	Type      string
	Props     map[string]any
}

// Expect is what a test requires; nil fields are not checked.
type Expect struct {
	// Sent lists the send steps that sent mail, in order.
	Sent []string
	// Escalated says whether the lead was escalated.
	Escalated *bool
	// Stage is the lead's stage at the end.
	Stage *string
	// Exit is how the enrollment ended: completed, goal, exit (or "" for still
	// running at the end of the simulation).
	Exit *string
	// Tags must all be on the lead at the end.
	Tags []string
}
