package message

import (
	"net/url"
	"strings"
)

// Alert is what an internal alert (a lead handed to sales) shows beyond the lead:
// templates under alerts/ see it as .Alert, nil in every other message. It holds
// text and numbers only, no functions, like the rest of what a template sees.
type Alert struct {
	// Kind is "new" (a lead handed to the rep), "reminder" (the rep has not answered
	// within the SLA) or "manager" (the rep's manager is told so).
	Kind string `json:"kind"`
	// Rep is the name of the rep the lead is handed to; Manager is set for "manager".
	Rep     string `json:"rep"`
	Manager string `json:"manager,omitempty"`
	// How the rep was chosen: "kept" (the lead's owner), "territory" or "round_robin".
	How string `json:"how"`
	// Reason is why the lead was escalated, as the scenario step or scoring rule says.
	Reason string `json:"reason"`
	// Breakdown explains the score, one line a rule, largest first.
	Breakdown []AlertLine `json:"breakdown"`
	// Engagement is the lead's latest human engagement, latest first: mails opened,
	// links clicked, pages visited, forms sent.
	Engagement []AlertLine `json:"engagement"`
	// BANT is what sales knows so far, "" where nothing is recorded.
	Budget    string `json:"budget"`
	Authority string `json:"authority"`
	Need      string `json:"need"`
	Timeframe string `json:"timeframe"`
	// AcceptURL opens the page where the rep accepts or rejects the lead; empty in
	// the manager's mail. It is a SignedURL, so a template may make it a link's
	// address: [受付・差し戻し]({{.AcceptURL}}).
	AcceptURL SignedURL `json:"accept_url,omitempty"`
	// Deadline is when the SLA runs out, as text in Japan time ("1月2日 15:04").
	Deadline string `json:"deadline"`
}

// AlertLine is one line of an alert's list: a label and its detail.
type AlertLine struct {
	Label  string `json:"label"`
	Detail string `json:"detail"`
	At     string `json:"at,omitempty"`
}

// sampleAlert is the alert that templates under alerts/ are checked with at load.
func sampleAlert() *Alert {
	return &Alert{
		Kind: "new", Rep: "営業 太郎", How: "round_robin", Reason: "料金ページを2回閲覧",
		Breakdown:  []AlertLine{{Label: "pricing_visit", Detail: "+20（2回）"}},
		Engagement: []AlertLine{{Label: "クリック", Detail: "https://example.com/pricing", At: "1月2日 15:04"}},
		Budget:     "500万円", AcceptURL: "https://example.com/s/token", Deadline: "1月3日 15:04",
	}
}

// SignedURL is a URL that nurture made and signed itself (the accept link of a sales
// alert), never one taken from a lead's data. It is the one kind of value a template
// may print as the whole address of a link: in a Markdown body it is put into the
// link as it is, not percent-encoded as one path segment like every other value, and
// check lets it set a link's scheme and host, which it refuses for every other
// value. A template cannot make one: only engine code converts a string into it, and
// it is stored only by the engine (with the alert of an internal message). Even so
// the renderer trusts it only when it is an absolute http(s) URL of plain URL
// characters; any other is printed as an ordinary value.
type SignedURL string

// trusted reports whether u is an absolute http(s) URL with a host, no user
// information, and nothing but letters, digits and - . _ ~ : / ? # @ ! $ & * + , ; = %:
// no quote, bracket, parenthesis, space or backslash that could end an attribute or
// a Markdown link.
func (u SignedURL) trusted() bool {
	s := string(u)
	if s == "" || len(s) > 2048 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("-._~:/?#@!$&*+,;=%", c) >= 0 {
			continue
		}
		return false
	}
	p, err := url.Parse(s)
	return err == nil && (p.Scheme == "http" || p.Scheme == "https") && p.Host != "" && p.User == nil && p.Opaque == ""
}
