package message

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
	// the manager's mail.
	AcceptURL string `json:"accept_url,omitempty"`
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
