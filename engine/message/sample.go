package message

import (
	"fmt"
	"time"

	"github.com/nurture-dev/nurture/engine/lead"
)

const sampleUnsubscribeURL = "https://nurture.example/u/sample"

// sampleLeads are the leads every template is rendered for when it is loaded: one
// with every field filled, one with none.
func sampleLeads() []*lead.Lead {
	employees := 1200
	owner := int64(7)
	at := time.Date(2025, 4, 1, 9, 30, 0, 0, japan)
	return []*lead.Lead{
		{
			ID:             1,
			Email:          "yamada@example.co.jp",
			FirstName:      "太郎",
			LastName:       "山田",
			Company:        "サンプル株式会社",
			Department:     "人事部",
			Title:          "部長",
			Phone:          "03-1234-5678",
			Employees:      &employees,
			Industry:       "製造業",
			Country:        "JP",
			Timezone:       "Asia/Tokyo",
			Source:         "web",
			Attributes:     map[string]any{"業種区分": "製造", "従業員規模": float64(1200), "予算確保": true},
			Tags:           []string{"whitepaper", "採用"},
			Consent:        lead.ConsentGranted,
			ConsentAt:      &at,
			UnsubscribedAt: &at,
			Stage:          "mql",
			StageChangedAt: at,
			ProfileScore:   30,
			BehaviorScore:  25.5,
			Score:          55,
			Grade:          "warm",
			OwnerID:        &owner,
			CreatedAt:      at,
			UpdatedAt:      at,
		},
		{},
	}
}

// sampleTracking rewrites links the way sending does, so that loading exercises it.
func sampleTracking() *Tracking {
	return &Tracking{
		Links:       EachLink(func(l Link) string { return fmt.Sprintf("https://nurture.example/t/c/sample%d", l.Index) }),
		PixelURL:    "https://nurture.example/t/o/sample",
		HoneypotURL: "https://nurture.example/t/c/honeypot",
	}
}
