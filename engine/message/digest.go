package message

// Digest is what a sales rep's daily digest shows: templates under alerts/ see it as
// .Digest, nil in every other message. A digest is about no one lead, so .Lead is
// empty in it. Like Alert it holds text and numbers only.
type Digest struct {
	// Rep is the name of the rep the digest is for.
	Rep string `json:"rep"`
	// Date is the day of the digest, as text in Japan time ("4月6日（月）").
	Date string `json:"date"`
	// Hot are the rep's leads that became hot, or were handed to the rep while hot,
	// in the last 24 hours.
	Hot []DigestLead `json:"hot"`
	// Pending are the leads handed to the rep and not yet accepted or rejected,
	// longest waiting first; Detail says how long each has waited against the SLA.
	Pending []DigestLead `json:"pending"`
	// Jumped are the rep's leads whose score rose by the digest's threshold or more
	// in the last 24 hours; Detail says by how much.
	Jumped []DigestLead `json:"jumped"`
}

// DigestLead is one lead in a digest.
type DigestLead struct {
	Company string `json:"company"`
	Name    string `json:"name"`
	Email   string `json:"email"`
	Score   int    `json:"score"`
	Grade   string `json:"grade"`
	Stage   string `json:"stage"`
	// Detail is the line's reason: "待ち 5時間（期限まで あと19時間）", "+25点（35→60）".
	Detail string `json:"detail"`
	// Overdue is set for a pending lead past its SLA.
	Overdue bool `json:"overdue,omitempty"`
	// AcceptURL opens the lead's accept page; set for pending leads only.
	AcceptURL SignedURL `json:"accept_url,omitempty"`
}

// sampleDigest is the digest that templates under alerts/ are checked with at load.
func sampleDigest() *Digest {
	l := DigestLead{Company: "サンプル株式会社", Name: "山田 太郎", Email: "yamada@example.co.jp", Score: 72,
		Grade: "hot", Stage: "mql", Detail: "+25点（47→72）"}
	p := l
	p.Detail, p.Overdue, p.AcceptURL = "待ち 26時間（期限を2時間超過）", true, "https://example.com/s/token"
	return &Digest{Rep: "営業 太郎", Date: "4月6日（月）", Hot: []DigestLead{l}, Pending: []DigestLead{p}, Jumped: []DigestLead{l}}
}
