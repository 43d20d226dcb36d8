// Package lead owns leads and their event stream: who a lead is, what happened to it,
// and the rules for changing either. Every write that changes a lead records the event
// that says so in the same transaction.
package lead

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/mail"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// ErrNotFound is returned when a lead does not exist.
var ErrNotFound = errors.New("lead not found")

// Lead is a person marketing may nurture and sales may call.
type Lead struct {
	ID             int64          `json:"id" db:"id"`
	Email          string         `json:"email" db:"email"`
	FirstName      string         `json:"first_name" db:"first_name"`
	LastName       string         `json:"last_name" db:"last_name"`
	Company        string         `json:"company" db:"company"`
	Department     string         `json:"department" db:"department"`
	Title          string         `json:"title" db:"title"`
	Phone          string         `json:"phone" db:"phone"`
	Employees      *int           `json:"employees" db:"employees"`
	Industry       string         `json:"industry" db:"industry"`
	Country        string         `json:"country" db:"country"`
	Timezone       string         `json:"timezone" db:"timezone"`
	Source         string         `json:"source" db:"source"`
	Attributes     map[string]any `json:"attributes" db:"attributes"`
	Tags           []string       `json:"tags" db:"tags"`
	Consent        string         `json:"consent" db:"consent"`
	ConsentAt      *time.Time     `json:"consent_at" db:"consent_at"`
	UnsubscribedAt *time.Time     `json:"unsubscribed_at" db:"unsubscribed_at"`
	Stage          string         `json:"stage" db:"stage"`
	StageChangedAt time.Time      `json:"stage_changed_at" db:"stage_changed_at"`
	ProfileScore   int            `json:"profile_score" db:"profile_score"`
	BehaviorScore  float64        `json:"behavior_score" db:"behavior_score"`
	Score          int            `json:"score" db:"score"`
	Grade          string         `json:"grade" db:"grade"`
	OwnerID        *int64         `json:"owner_id" db:"owner_id"`
	BANT           BANT           `json:"bant" db:"bant"`
	CreatedAt      time.Time      `json:"created_at" db:"created_at"`
	UpdatedAt      time.Time      `json:"updated_at" db:"updated_at"`
}

// Consent values.
const (
	ConsentUnknown = "unknown"
	ConsentGranted = "granted"
	ConsentDenied  = "denied"
)

// Input is what a caller knows about a lead, keyed by email. A nil field is not known
// and keeps what is stored; an empty string clears a text field.
//
// Some fields merge rather than replace: Tags are added to the lead's tags, Attributes
// are merged key by key (a null value removes a key), and Source is first-touch: it is
// set when the lead has none and kept after that, so a lead's origin is not rewritten
// by whichever channel saw it last.
type Input struct {
	Email      string         `json:"email"`
	FirstName  *string        `json:"first_name"`
	LastName   *string        `json:"last_name"`
	Company    *string        `json:"company"`
	Department *string        `json:"department"`
	Title      *string        `json:"title"`
	Phone      *string        `json:"phone"`
	Employees  *int           `json:"employees"`
	Industry   *string        `json:"industry"`
	Country    *string        `json:"country"`
	Timezone   *string        `json:"timezone"`
	Source     *string        `json:"source"`
	Attributes map[string]any `json:"attributes"`
	Tags       []string       `json:"tags"`
	Consent    *string        `json:"consent"`
	// BANT merges key by key into what sales recorded: budget, authority, need and
	// timeframe; "" or null clears one.
	BANT map[string]*string `json:"bant"`
}

// FieldError says which field of an input is wrong and why.
type FieldError struct {
	Field  string
	Reason string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Reason }

// Limits on what one lead may carry, so that one bad client cannot bloat the table.
const (
	maxEmailBytes  = 254
	maxTextRunes   = 1000
	maxTags        = 100
	maxTagRunes    = 100
	maxAttrKeyRune = 100
	maxEmployees   = 10_000_000
)

// Limits on attributes and event properties. A size is that of the value's JSON
// (a string's is its UTF-8 bytes plus quotes and escapes). The totals hold for what a
// lead stores after an upsert, not only for what one request sends: an upsert that
// would take a lead over them is refused, so many small requests cannot build one
// huge lead.
const (
	// MaxAttributes is the most attributes a lead has, and the most properties an
	// event has.
	MaxAttributes = 100
	// MaxAttributeBytes is the largest attribute or property value.
	MaxAttributeBytes = 4 << 10
	// MaxAttributesBytes is the largest a lead's attributes (or an event's
	// properties) are together.
	MaxAttributesBytes = 64 << 10
)

// Validate checks the input and tidies it: text is trimmed and tags deduplicated.
// It returns a *FieldError naming the first bad field.
func (in *Input) Validate() error {
	in.Email = strings.TrimSpace(in.Email)
	if err := CheckEmail(in.Email); err != nil {
		return &FieldError{Field: "email", Reason: err.Error()}
	}
	for k, v := range in.BANT {
		if !slices.Contains(BANTKeys, k) {
			return &FieldError{Field: "bant", Reason: fmt.Sprintf("%.40q is not one of budget, authority, need, timeframe", k)}
		}
		if v != nil {
			t := strings.TrimFunc(*v, unicode.IsSpace)
			if err := checkText(t); err != nil {
				return &FieldError{Field: "bant." + k, Reason: err.Error()}
			}
			in.BANT[k] = &t
		}
	}
	for _, f := range in.textFields() {
		if *f.value == nil {
			continue
		}
		s := strings.TrimFunc(**f.value, unicode.IsSpace)
		if err := checkText(s); err != nil {
			return &FieldError{Field: f.name, Reason: err.Error()}
		}
		*f.value = &s
	}
	if in.Employees != nil && (*in.Employees < 0 || *in.Employees > maxEmployees) {
		return &FieldError{Field: "employees", Reason: fmt.Sprintf("must be between 0 and %d", maxEmployees)}
	}
	if in.Timezone != nil && *in.Timezone != "" {
		if _, err := time.LoadLocation(*in.Timezone); err != nil || strings.EqualFold(*in.Timezone, "local") {
			return &FieldError{Field: "timezone", Reason: fmt.Sprintf("%q is not an IANA time zone such as Asia/Tokyo", *in.Timezone)}
		}
	}
	if in.Consent != nil {
		switch *in.Consent {
		case ConsentGranted, ConsentDenied, ConsentUnknown:
		default:
			return &FieldError{Field: "consent", Reason: `must be "granted", "denied" or "unknown"`}
		}
	}
	if len(in.Tags) > maxTags {
		return &FieldError{Field: "tags", Reason: fmt.Sprintf("at most %d tags", maxTags)}
	}
	tags := in.Tags[:0:0]
	for _, t := range in.Tags {
		t = strings.TrimFunc(t, unicode.IsSpace)
		if t == "" {
			continue
		}
		if err := checkText(t); err != nil || utf8.RuneCountInString(t) > maxTagRunes {
			return &FieldError{Field: "tags", Reason: fmt.Sprintf("%.40q is not a tag (at most %d characters, no control characters)", t, maxTagRunes)}
		}
		if !slices.Contains(tags, t) {
			tags = append(tags, t)
		}
	}
	if in.Tags != nil {
		in.Tags = tags
	}
	return checkAttributes(in.Attributes, "attributes", "an attribute", "attributes")
}

// checkAttributes checks the names, values and size of attributes or event
// properties; field names the map in errors ("attributes", "props"), and a value's
// error names its key too ("attributes.budget").
func checkAttributes(m map[string]any, field, one, many string) error {
	if len(m) > MaxAttributes {
		return &FieldError{Field: field, Reason: fmt.Sprintf("at most %d %s", MaxAttributes, many)}
	}
	for k, v := range m {
		if k == "" || utf8.RuneCountInString(k) > maxAttrKeyRune || checkText(k) != nil {
			return &FieldError{Field: field, Reason: fmt.Sprintf("%.40q is not %s name", k, one)}
		}
		if err := checkValue(v); err != nil {
			return &FieldError{Field: field + "." + k, Reason: err.Error()}
		}
		if n := jsonSize(v); n > MaxAttributeBytes {
			return &FieldError{Field: field + "." + k, Reason: fmt.Sprintf("is %d bytes, more than the %d a value may have", n, MaxAttributeBytes)}
		}
	}
	if n := jsonSize(m); n > MaxAttributesBytes {
		return &FieldError{Field: field, Reason: fmt.Sprintf("are %d bytes together, more than the %d allowed", n, MaxAttributesBytes)}
	}
	return nil
}

// checkValue refuses what PostgreSQL cannot store in jsonb: a NUL character, in a
// string or in the key of a nested object, anywhere in the value.
func checkValue(v any) error {
	switch v := v.(type) {
	case string:
		if strings.IndexByte(v, 0) >= 0 {
			return errors.New("contains a NUL character (\\u0000)")
		}
	case map[string]any:
		for k, e := range v {
			if err := checkValue(k); err != nil {
				return err
			}
			if err := checkValue(e); err != nil {
				return err
			}
		}
	case []any:
		for _, e := range v {
			if err := checkValue(e); err != nil {
				return err
			}
		}
	}
	return nil
}

// jsonSize is the length of v's JSON without HTML escaping, which is what it costs
// to store; a value that cannot be encoded counts as too large.
func jsonSize(v any) int {
	if s, ok := v.(string); ok && !needsEscape(s) {
		return len(s) + 2
	}
	var n byteCounter
	enc := json.NewEncoder(&n)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return math.MaxInt
	}
	return int(n) - 1 // Encode ends with a newline
}

func needsEscape(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c >= utf8.RuneSelf {
			return true
		}
	}
	return false
}

type byteCounter int

func (n *byteCounter) Write(p []byte) (int, error) {
	*n += byteCounter(len(p))
	return len(p), nil
}

type textField struct {
	name  string
	value **string
}

func (in *Input) textFields() []textField {
	return []textField{
		{"first_name", &in.FirstName}, {"last_name", &in.LastName}, {"company", &in.Company},
		{"department", &in.Department}, {"title", &in.Title}, {"phone", &in.Phone},
		{"industry", &in.Industry}, {"country", &in.Country}, {"timezone", &in.Timezone},
		{"source", &in.Source},
	}
}

// CheckEmail reports why s is not an address nurture can mail, or nil. It accepts the
// bare address form only (no display name, no comments) with a domain that has a dot.
func CheckEmail(s string) error {
	switch {
	case s == "":
		return errors.New("is required")
	case len(s) > maxEmailBytes:
		return fmt.Errorf("is longer than %d bytes", maxEmailBytes)
	case !utf8.ValidString(s) || strings.IndexFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0:
		return fmt.Errorf("%.80q is not an email address", s)
	}
	addr, err := mail.ParseAddress(s)
	if err != nil || addr.Name != "" || addr.Address != s {
		return fmt.Errorf("%.80q is not an email address", s)
	}
	local, domain, _ := strings.Cut(s, "@")
	// Source routes (user%other@relay, host!user@relay) ask the receiving server to
	// pass the mail on: nurture sends to the address written, nowhere else.
	if strings.ContainsAny(local, "%!") {
		return fmt.Errorf("%.80q is a routed address (with %% or !), which nurture does not send to", s)
	}
	if !validDomain(domain) {
		return fmt.Errorf("%.80q has no valid domain", s)
	}
	return nil
}

// validDomain reports whether d is a host name with a dot: labels of letters (any
// script, for international names), digits and inner hyphens. An address literal
// ([127.0.0.1]) or a bare IP address is refused: the mail would go to a host of the
// sender's choosing instead of through the domain's MX.
func validDomain(d string) bool {
	labels := strings.Split(d, ".")
	if len(labels) < 2 || len(d) > 253 {
		return false
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for _, r := range l {
			if r != '-' && !unicode.IsLetter(r) && !unicode.IsDigit(r) && !unicode.Is(unicode.M, r) {
				return false
			}
		}
	}
	tld := labels[len(labels)-1]
	return strings.IndexFunc(tld, func(r rune) bool { return !unicode.IsDigit(r) }) >= 0
}

func checkText(s string) error {
	if !utf8.ValidString(s) {
		return errors.New("is not valid UTF-8")
	}
	if utf8.RuneCountInString(s) > maxTextRunes {
		return fmt.Errorf("is longer than %d characters", maxTextRunes)
	}
	if strings.IndexFunc(s, func(r rune) bool { return unicode.IsControl(r) && r != '\t' && r != '\n' && r != '\r' }) >= 0 {
		return errors.New("contains control characters")
	}
	return nil
}
