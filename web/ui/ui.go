// Package ui holds the console's pages and its stylesheet, embedded in the binary.
// Every page is parsed at start-up with the layout, so that a broken page stops
// the program rather than a request. Pages are html/template: everything a page
// prints is escaped for where it stands, and no data is ever marked safe.
package ui

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"math"
	"time"
)

//go:embed templates/*.html
var templates embed.FS

//go:embed static/console.css
var stylesheet []byte

// Stylesheet is the console's CSS.
func Stylesheet() []byte { return stylesheet }

// StylesheetName is the stylesheet's file name with its checksum, so that it can be
// cached for good and a new version is fetched at once.
var StylesheetName = func() string {
	sum := sha256.Sum256(stylesheet)
	return "console." + hex.EncodeToString(sum[:4]) + ".css"
}()

// jst is the time zone the console shows times in.
var jst = func() *time.Location {
	if loc, err := time.LoadLocation("Asia/Tokyo"); err == nil {
		return loc
	}
	return time.FixedZone("JST", 9*3600)
}()

var stageNames = map[string]string{
	"inquiry": "問い合わせ", "mql": "MQL", "sal": "SAL", "sgl": "SGL", "sql": "SQL",
	"won": "受注", "lost": "失注", "recycled": "再育成",
}

var gradeNames = map[string]string{"hot": "ホット", "warm": "ウォーム", "cold": "コールド"}

var roleNames = map[string]string{"admin": "管理者", "marketer": "マーケター", "sales": "営業"}

var eventNames = map[string]string{
	"lead_created": "リード作成", "lead_updated": "リード更新", "form_submitted": "フォーム送信",
	"page_visited": "ページ閲覧", "email_sent": "メール送信", "email_opened": "メール開封",
	"email_clicked": "リンククリック", "email_bounced": "バウンス", "email_complained": "苦情",
	"unsubscribed": "配信停止", "enrolled": "シナリオ登録", "scenario_exited": "シナリオ終了",
	"score_changed": "スコア変動", "grade_changed": "グレード変更", "score_crossed": "スコア閾値",
	"stage_changed": "ステージ変更", "escalation_requested": "エスカレーション",
	"lead_assigned": "営業へ割り当て", "alert_sent": "アラート送信", "lead_accepted": "営業が受付",
	"lead_rejected": "営業が差し戻し", "assignment_pending": "割り当て待ち", "sla_missed": "SLA 超過",
}

func label(names map[string]string) func(string) string {
	return func(s string) string {
		if n, ok := names[s]; ok {
			return n
		}
		return s
	}
}

var funcs = template.FuncMap{
	"stage": label(stageNames),
	"grade": label(gradeNames),
	"role":  label(roleNames),
	"event": label(eventNames),
	// when formats a time in Japan's time zone; the zero time is a dash.
	"when": func(t any) string {
		switch v := t.(type) {
		case time.Time:
			if v.IsZero() {
				return "—"
			}
			return v.In(jst).Format("2006-01-02 15:04")
		case *time.Time:
			if v == nil {
				return "—"
			}
			return v.In(jst).Format("2006-01-02 15:04")
		}
		return fmt.Sprint(t)
	},
	"pct": func(f float64) string { return fmt.Sprintf("%.1f%%", f*100) },
	"days": func(d *float64) string {
		if d == nil {
			return "—"
		}
		return fmt.Sprintf("%.1f 日", *d)
	},
	"num": func(f float64) string {
		if f == math.Trunc(f) {
			return fmt.Sprintf("%.0f", f)
		}
		return fmt.Sprintf("%.2f", f)
	},
	"stylesheet": func() string { return "/admin/static/" + StylesheetName },
}

// Page is a parsed console page.
type Page struct {
	name string
	t    *template.Template
}

// Execute writes the page with data.
func (p *Page) Execute(w io.Writer, data any) error {
	if err := p.t.ExecuteTemplate(w, "layout", data); err != nil {
		return fmt.Errorf("render %s: %w", p.name, err)
	}
	return nil
}

func parse(name string) *Page {
	t := template.Must(template.New(name).Funcs(funcs).ParseFS(templates, "templates/layout.html", "templates/"+name+".html"))
	return &Page{name: name, t: t}
}

// The console's pages.
var (
	Login     = parse("login")
	Dashboard = parse("dashboard")
	Leads     = parse("leads")
	Lead      = parse("lead")
	Password  = parse("password")
	Users     = parse("users")
	Error     = parse("error")
)

// Files are the embedded templates, for checks that every one is parsed.
func Files() fs.FS { return templates }
