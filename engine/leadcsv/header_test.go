package leadcsv

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestHeaderMapping(t *testing.T) {
	tests := []struct {
		header string
		field  string
	}{
		{"email", "email"},
		{"Email", "email"},
		{"E-Mail", "email"},
		{"e_mail", "email"},
		{"Email Address", "email"},
		{"Mail Address", "email"},
		{"ＥＭＡＩＬ", "email"},
		{"Ｅ－ｍａｉｌ", "email"},
		{"メールアドレス", "email"},
		{"メール　アドレス", "email"},
		{"メール・アドレス", "email"},
		{"ﾒｰﾙｱﾄﾞﾚｽ", "email"},
		{"  メール  ", "email"},
		{"Eメール", "email"},
		{"Ｅメールアドレス", "email"},
		{"電子メール", "email"},

		{"First Name", "first_name"},
		{"first_name", "first_name"},
		{"FirstName", "first_name"},
		{"Given Name", "first_name"},
		{"名", "first_name"},
		{"名前（名）", "first_name"},
		{"ファーストネーム", "first_name"},
		{"Last Name", "last_name"},
		{"Surname", "last_name"},
		{"姓", "last_name"},
		{"苗字", "last_name"},
		{"名字", "last_name"},
		{"Name", "name"},
		{"Full Name", "name"},
		{"氏名", "name"},
		{"名前", "name"},
		{"お名前", "name"},
		{"担当者名", "name"},

		{"Company", "company"},
		{"Company Name", "company"},
		{"Organisation", "company"},
		{"会社名", "company"},
		{"企業名", "company"},
		{"法人名", "company"},
		{"Dept", "department"},
		{"部署名", "department"},
		{"所属", "department"},
		{"Job Title", "title"},
		{"役職", "title"},
		{"肩書き", "title"},
		{"TEL", "phone"},
		{"ＴＥＬ", "phone"},
		{"Phone Number", "phone"},
		{"電話番号", "phone"},
		{"TEL番号", "phone"},
		{"携帯電話", "phone"},
		{"Number of Employees", "employees"},
		{"Company Size", "employees"},
		{"従業員数", "employees"},
		{"企業規模", "employees"},
		{"Industry", "industry"},
		{"業種", "industry"},
		{"Country", "country"},
		{"国", "country"},
		{"Time Zone", "timezone"},
		{"TZ", "timezone"},
		{"タイムゾーン", "timezone"},
		{"Lead Source", "source"},
		{"流入元", "source"},
		{"獲得経路", "source"},
		{"Opt-In", "consent"},
		{"Email Consent", "consent"},
		{"メール配信許諾", "consent"},
		{"メルマガ配信", "consent"},
		{"Tags", "tags"},
		{"タグ", "tags"},

		{"Seminar", "attributes.Seminar"},
		{"  来場セミナー ", "attributes.来場セミナー"},
		{"フリガナ", "attributes.フリガナ"},
		{"", ""},
		{"   ", ""},
	}
	for _, tt := range tests {
		t.Run(tt.header, func(t *testing.T) {
			if tt.field == "email" {
				// A second email column would be refused; check it on its own.
				cols, err := mapHeader([]string{tt.header})
				require.NoError(t, err)
				require.Equal(t, "email", cols[0].Field)
				return
			}
			cols, err := mapHeader([]string{"メールアドレス", tt.header})
			require.NoError(t, err)
			require.Equal(t, tt.field, cols[1].Field)
			require.Equal(t, 1, cols[1].Index)
			require.Equal(t, strings.TrimSpace(tt.header), cols[1].Header)
		})
	}
}

func TestHeaderErrors(t *testing.T) {
	tests := []struct {
		name   string
		header []string
		want   string
	}{
		{"no email", []string{"Name", "Company"}, `no email column: the header must have one of email, e-mail,`},
		{"no email lists headers", []string{"Name", "Company"}, `(the header is "Name", "Company")`},
		{"tab separated", []string{"email\tname"}, "separated by tabs"},
		{"two email columns", []string{"メール", "Company", "Email"}, `columns A ("メール") and C ("Email") both map to email`},
		{"two name columns", []string{"email", "氏名", "お名前"}, `columns B ("氏名") and C ("お名前") both map to name`},
		{"two same unknown headers", []string{"email", "memo", "memo"}, `columns B ("memo") and C ("memo") both map to attributes.memo`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := mapHeader(tt.header)
			require.ErrorContains(t, err, tt.want)
		})
	}
}

// TestSynonymsAreNormalised guards the synonym table: every entry must survive the
// normalisation that file headers go through, or it could never match.
func TestSynonymsAreNormalised(t *testing.T) {
	for _, s := range synonymList {
		for _, n := range s.names {
			require.Equal(t, s.field, synonyms[normaliseHeader(n)], n)
		}
	}
}

func TestColumnLetter(t *testing.T) {
	for i, want := range map[int]string{0: "A", 1: "B", 25: "Z", 26: "AA", 27: "AB", 51: "AZ", 52: "BA", 701: "ZZ", 702: "AAA"} {
		require.Equal(t, want, columnLetter(i), i)
	}
}
