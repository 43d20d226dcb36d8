package message

import (
	"strconv"
	"testing"
)

// BenchmarkRender renders a shipped template for a lead with every link tracked, as
// the send worker does for each message.
//
//	go test -run '^$' -bench Render ./engine/message/
func BenchmarkRender(b *testing.B) {
	set, err := Load("../../templates")
	if err != nil {
		b.Fatal(err)
	}
	l := japaneseLead()
	b.ReportAllocs()
	for b.Loop() {
		_, err := set.Render("whitepaper/thanks", Data{Lead: l, UnsubscribeURL: unsubscribeURL, Tracking: &Tracking{
			Links:       EachLink(func(l Link) string { return "https://nurture.example/t/c/" + strconv.Itoa(l.Index) }),
			PixelURL:    "https://nurture.example/t/o/x",
			HoneypotURL: "https://nurture.example/t/c/h",
		}})
		if err != nil {
			b.Fatal(err)
		}
	}
}
