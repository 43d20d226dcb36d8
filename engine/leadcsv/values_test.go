package leadcsv

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseEmployees(t *testing.T) {
	tests := []struct {
		in   string
		want int
	}{
		{"0", 0},
		{"1000", 1000},
		{" 1000 ", 1000},
		{"1,000", 1000},
		{"1,000,000", 1_000_000},
		{"1,000名", 1000},
		{"1000人", 1000},
		{"１，０００名", 1000},
		{"約500名", 500},
		{"約 500 人", 500},
		{"500+", 500},
		{"500以上", 500},
		{"500名以上", 500},
		{"100-499", 100},
		{"100 - 499", 100},
		{"100〜499", 100},
		{"100～499", 100},
		{"100~499人", 100},
		{"1,000～4,999名", 1000},
		{"１００〜４９９名", 100},
		{"5000~", 5000},
		{"1万", 10_000},
		{"1.2万", 12_000},
		{"1.25万人", 12_500},
		{"約1万名以上", 10_000},
		{"5千", 5000},
		{"1000.0", 1000},
		{"10000000", 10_000_000},
		{"1000万", 10_000_000},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			n, err := parseEmployees(tt.in)
			require.NoError(t, err)
			require.NotNil(t, n)
			require.Equal(t, tt.want, *n)
		})
	}

	for _, in := range []string{"", "  ", "　"} {
		n, err := parseEmployees(in)
		require.NoError(t, err, "%q", in)
		require.Nil(t, n, "%q", in)
	}

	for _, in := range []string{"abc", "-5", "−5", "~500", "100-abc", "1.5", "1,00", "1,0000", "500人未満",
		"大企業", "1.23456万", "12e3", "0x10", "٣٠٠", "1 000 000x", "100--200", "+500"} {
		_, err := parseEmployees(in)
		require.EqualError(t, err, "is not a number of employees", "%q", in)
	}
	for _, in := range []string{"10000001", "1001万", "99999999999999999999999", "2,000,000,000"} {
		_, err := parseEmployees(in)
		require.EqualError(t, err, "is more than 10000000 employees", "%q", in)
	}
}

func TestParseConsent(t *testing.T) {
	for _, in := range []string{"yes", "YES", "Yes", "true", "1", "１", "granted", "opt-in", "Opt In", "optin",
		"はい", "許可", "同意", "配信可", "希望する", "○", "〇", " ○ "} {
		c, err := parseConsent(in)
		require.NoError(t, err, "%q", in)
		require.Equal(t, "granted", *c, "%q", in)
	}
	for _, in := range []string{"no", "NO", "false", "0", "denied", "opt-out", "OptOut", "optout",
		"いいえ", "拒否", "不可", "配信不可", "希望しない", "×", "✕"} {
		c, err := parseConsent(in)
		require.NoError(t, err, "%q", in)
		require.Equal(t, "denied", *c, "%q", in)
	}
	for _, in := range []string{"", " ", "　"} {
		c, err := parseConsent(in)
		require.NoError(t, err)
		require.Nil(t, c)
	}
	for _, in := range []string{"maybe", "2", "yes please", "△"} {
		_, err := parseConsent(in)
		require.ErrorContains(t, err, "is not a consent value", "%q", in)
	}
}

func TestSplitName(t *testing.T) {
	tests := []struct {
		in, first, last string
	}{
		{"山田 太郎", "太郎", "山田"},
		{"山田　太郎", "太郎", "山田"},
		{"  山田　　太郎  ", "太郎", "山田"},
		{"山田太郎", "", "山田太郎"},
		{"やまだ たろう", "たろう", "やまだ"},
		{"ヤマダ タロウ", "タロウ", "ヤマダ"},
		{"John Smith", "John", "Smith"},
		{"John Ronald Reuel Tolkien", "John", "Ronald Reuel Tolkien"},
		{"Madonna", "", "Madonna"},
		{"김 철수", "철수", "김"},
		{"", "", ""},
	}
	for _, tt := range tests {
		first, last := splitName(tt.in)
		require.Equal(t, tt.first, first, "%q", tt.in)
		require.Equal(t, tt.last, last, "%q", tt.in)
	}
}

func TestSplitTags(t *testing.T) {
	require.Equal(t, []string{"a", "b", "c", "d", "e", "展示会"}, splitTags(" a, b;c、d，e ；展示会,, a ,"))
	require.Nil(t, splitTags(" , ;、"))
}

func TestCheckEmail(t *testing.T) {
	good := []string{"taro@example.com", " taro@example.co.jp ", "Taro.Yamada+news@Example.COM", "山田@例え.jp"}
	for _, in := range good {
		got, err := checkEmail(in)
		require.NoError(t, err, "%q", in)
		require.Equal(t, strings.TrimSpace(in), got)
	}
	bad := map[string]string{
		"":                               "is required",
		"  ":                             "is required",
		"foo":                            "is not an email address",
		"Taro <taro@example.com>":        "is not an email address",
		"taro@example.com (Taro)":        "is not an email address",
		"taro @example.com":              "is not an email address",
		"taro@exam\x00ple.com":           "is not an email address",
		"a@b@example.com":                "is not an email address",
		"a@localhost":                    "is not an email address",
		"user@[127.0.0.1]":               "is not an email address",
		"a%b@example.com":                "is not an email address",
		"host!user@example.com":          "is not an email address",
		`"a@b"@example.com`:              "is not an email address",
		"taro@example.com,hanako@ex.com": "is not an email address",
		"ｔａｒｏ＠ｅｘａｍｐｌｅ．ｃｏｍ":                        `is not an email address: it has full-width characters (did you mean "taro@example.com"?)`,
		"taro\xff@example.com":                    "is not valid UTF-8; if the file is Shift_JIS, import it with the encoding set to shift_jis",
		strings.Repeat("a", 250) + "@example.com": "is longer than 254 bytes",
	}
	for in, want := range bad {
		_, err := checkEmail(in)
		require.EqualError(t, err, want, "%q", in)
	}
}

func TestCleanText(t *testing.T) {
	got, err := cleanText("\u3000 Acme\x00 Corp\x0b\r\n ")
	require.NoError(t, err)
	require.Equal(t, "Acme Corp", got)

	got, err = cleanText("line 1\nline 2\tend")
	require.NoError(t, err)
	require.Equal(t, "line 1\nline 2\tend", got)

	_, err = cleanText(strings.Repeat("あ", 1000))
	require.NoError(t, err)
	_, err = cleanText(strings.Repeat("あ", 1001))
	require.EqualError(t, err, "is longer than 1000 characters")
	_, err = cleanText("a\xffb")
	require.ErrorContains(t, err, "is not valid UTF-8")
}

func TestParseEncoding(t *testing.T) {
	for in, want := range map[string]Encoding{
		"": Auto, "auto": Auto, "AUTO": Auto,
		"utf-8": UTF8, "UTF-8": UTF8, "utf8": UTF8,
		"shift_jis": ShiftJIS, "Shift_JIS": ShiftJIS, "shift-jis": ShiftJIS, "sjis": ShiftJIS, "SJIS": ShiftJIS,
		"cp932": ShiftJIS, "CP932": ShiftJIS, "windows-31j": ShiftJIS, "Windows-31J": ShiftJIS,
	} {
		got, err := ParseEncoding(in)
		require.NoError(t, err, in)
		require.Equal(t, want, got, in)
	}
	_, err := ParseEncoding("euc-jp")
	require.EqualError(t, err, `unknown encoding "euc-jp": use auto, utf-8 or shift_jis`)
}

func TestRowErrorString(t *testing.T) {
	e := &RowError{Line: 7, Field: "email", Value: "foo", Reason: "is not an email address"}
	require.Equal(t, `line 7: email: "foo" is not an email address`, e.Error())

	e = &RowError{Line: 3, Field: "email", Reason: "is required"}
	require.Equal(t, `line 3: email: is required`, e.Error())

	e = &RowError{Line: 9, Reason: "has 3 cells, the header has 2"}
	require.Equal(t, `line 9: has 3 cells, the header has 2`, e.Error())

	e = &RowError{Line: 2, Field: "company", Value: strings.Repeat("株", 100), Reason: "is longer than 1000 characters"}
	require.Equal(t, `line 2: company: "`+strings.Repeat("株", 80)+`"… is longer than 1000 characters`, e.Error())

	e = &RowError{Line: 2, Field: "email", Value: "a\xffb\n", Reason: "is not valid UTF-8"}
	require.Equal(t, `line 2: email: "a\xffb\n" is not valid UTF-8`, e.Error())
}
