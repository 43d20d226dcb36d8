package track

import (
	"net/netip"
	"strings"
	"time"
)

// Verdict is who made a hit: a human, a machine, or nobody can tell.
type Verdict string

// Verdicts.

const (
	Human   Verdict = "human"
	Machine Verdict = "machine"
	Unknown Verdict = "unknown"
)

// Hit is one request for a tracking URL.
type Hit struct {
	Kind      Kind
	At        time.Time
	Method    string
	UserAgent string
	IP        netip.Addr
	Link      int
}

// Judgement is a hit's verdict and the reasons for it, short snake_case codes.
type Judgement struct {
	Verdict Verdict
	Reasons []string
}

// Classifier judges hits. Its thresholds are fields so that tests and operators can
// tune them.
type Classifier struct {
	// TooSoon: a click this soon after delivery is a link scanner, not a reader.
	TooSoon time.Duration
	// BurstWindow: hits this close to a honeypot hit, from its network, are the same
	// scanner.
	BurstWindow time.Duration
	// BurstLinks distinct links clicked within BurstSpan from one network is a scanner
	// walking the message.
	BurstLinks int
	BurstSpan  time.Duration
}

// NewClassifier returns a classifier with the default thresholds.
func NewClassifier() *Classifier {
	return &Classifier{TooSoon: 10 * time.Second, BurstWindow: 2 * time.Minute, BurstLinks: 3, BurstSpan: 5 * time.Second}
}

// appleNetwork is Apple's 17.0.0.0/8: Mail Privacy Protection fetches images from it
// for every message delivered, opened or not.
var appleNetwork = netip.MustParsePrefix("17.0.0.0/8")

// Agents of proxies that fetch images on a reader's behalf (opens of uncertain
// meaning) and of link scanners (never a reader).
var (
	proxyAgents   = []string{"googleimageproxy", "yahoomailproxy", "ymailproxy", "via ggpht.com"}
	scannerAgents = []string{"bot", "crawler", "spider", "scanner", "curl/", "wget/", "python-requests", "go-http-client",
		"java/", "okhttp", "libwww", "httpclient", "headlesschrome", "phantomjs", "barracuda", "mimecast", "proofpoint",
		"safelinks", "ironport", "trendmicro", "sophos", "fortiguard", "symantec", "forcepoint", "microsoft office"}
)

// network is the /24 (IPv4) or /48 (IPv6) of an address: scanners spread a burst over
// neighbouring addresses.
func network(ip netip.Addr) netip.Prefix {
	if !ip.IsValid() {
		return netip.Prefix{}
	}
	bits := 48
	if ip.Is4() {
		bits = 24
	}
	p, _ := ip.Prefix(bits)
	return p
}

// Judge judges every hit of one message at once, given when it was delivered. Earlier
// hits may be judged differently once later ones are known: a honeypot hit, or a
// burst of clicks on many links, reveals the scanner behind the hits around it.
func (c *Classifier) Judge(sentAt time.Time, hits []Hit) []Judgement {
	out := make([]Judgement, len(hits))
	for i, h := range hits {
		out[i] = c.judgeOne(sentAt, h)
	}
	for i, h := range hits {
		if h.Kind != Honeypot {
			continue
		}
		for j, o := range hits {
			if j != i && network(o.IP) == network(h.IP) && absDur(o.At.Sub(h.At)) <= c.BurstWindow {
				out[j] = machine(out[j], "burst_with_honeypot")
			}
		}
	}
	for _, h := range hits {
		if h.Kind != Click {
			continue
		}
		links := map[int]bool{}
		var members []int
		for j, o := range hits {
			if o.Kind == Click && network(o.IP) == network(h.IP) && o.At.Sub(h.At) >= 0 && o.At.Sub(h.At) <= c.BurstSpan {
				links[o.Link] = true
				members = append(members, j)
			}
		}
		if len(links) >= c.BurstLinks {
			for _, j := range members {
				out[j] = machine(out[j], "burst_many_links")
			}
		}
	}
	return out
}

func (c *Classifier) judgeOne(sentAt time.Time, h Hit) Judgement {
	agent := strings.ToLower(h.UserAgent)
	switch {
	case h.Kind == Honeypot:
		return Judgement{Machine, []string{"honeypot"}}
	case h.Method == "HEAD":
		return Judgement{Machine, []string{"head_request"}}
	case agent == "":
		return Judgement{Machine, []string{"no_user_agent"}}
	case h.Kind == Open && appleNetwork.Contains(h.IP):
		return Judgement{Machine, []string{"apple_mpp_network"}}
	case containsAny(agent, scannerAgents):
		return Judgement{Machine, []string{"scanner_agent"}}
	case h.Kind == Open && containsAny(agent, proxyAgents):
		// Gmail's proxy fetches images when the reader opens the message, but Yahoo's
		// and others prefetch: an open through them proves little either way.
		return Judgement{Unknown, []string{"image_proxy_agent"}}
	case h.Kind == Click && h.At.Sub(sentAt) < c.TooSoon:
		return Judgement{Machine, []string{"too_soon_after_delivery"}}
	case strings.HasPrefix(agent, "mozilla/"):
		return Judgement{Verdict: Human}
	}
	return Judgement{Unknown, []string{"unrecognised_agent"}}
}

func machine(j Judgement, reason string) Judgement {
	if j.Verdict == Machine {
		for _, r := range j.Reasons {
			if r == reason {
				return j
			}
		}
	}
	return Judgement{Machine, append(append([]string(nil), j.Reasons...), reason)}
}

func containsAny(s string, subs []string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

func absDur(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}
