package leadcsv

import (
	"bufio"
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
	"golang.org/x/text/encoding/japanese"
)

var update = flag.Bool("update", false, "rewrite testdata/leads_sjis.csv")

// sjisSample is a lead list as Excel on Japanese Windows saves one, before encoding.
// It has characters that only code page 932 has (①, ㈱, 髙), half-width katakana, and
// "ソ" and "表", whose second byte in Shift_JIS is a backslash.
const sjisSample = "メールアドレス,氏名,会社名,従業員数,配信許諾,備考\n" +
	"taro@example.co.jp,髙橋 太郎,㈱サンプル,\"1,000～4,999名\",○,①展示会で名刺交換\n" +
	"hanako@example.co.jp,斎藤　花子,ｻﾝﾌﾟﾙ商事,約50名,×,\"ソフト表示の\"\"ダメ文字\"\"\n" +
	"テスト\"\n" +
	"jiro@example.co.jp,,,,,\n"

var sjisRecords = []Record{{
	Line:       2,
	Email:      "taro@example.co.jp",
	FirstName:  ptr("太郎"),
	LastName:   ptr("髙橋"),
	Company:    ptr("㈱サンプル"),
	Employees:  ptr(1000),
	Consent:    ptr("granted"),
	Attributes: map[string]string{"備考": "①展示会で名刺交換"},
}, {
	Line:       3,
	Email:      "hanako@example.co.jp",
	FirstName:  ptr("花子"),
	LastName:   ptr("斎藤"),
	Company:    ptr("ｻﾝﾌﾟﾙ商事"),
	Employees:  ptr(50),
	Consent:    ptr("denied"),
	Attributes: map[string]string{"備考": "ソフト表示の\"ダメ文字\"\nテスト"},
}, {
	Line:  5,
	Email: "jiro@example.co.jp",
}}

func toShiftJIS(t testing.TB, s string) []byte {
	t.Helper()
	b, err := japanese.ShiftJIS.NewEncoder().Bytes([]byte(s))
	require.NoError(t, err)
	require.False(t, utf8.Valid(b), "the sample must not be valid UTF-8 once encoded")
	return b
}

func readFile(t *testing.T, data []byte, enc Encoding) ([]Record, []*RowError, *Reader) {
	t.Helper()
	r, err := NewReader(bytes.NewReader(data), enc)
	require.NoError(t, err)
	recs, errs := readAll(t, r)
	return recs, errs, r
}

func TestShiftJIS(t *testing.T) {
	data := toShiftJIS(t, sjisSample)
	for _, enc := range []Encoding{Auto, ShiftJIS} {
		t.Run(string(enc), func(t *testing.T) {
			recs, errs, r := readFile(t, data, enc)
			require.Empty(t, errs)
			require.Equal(t, sjisRecords, recs)
			require.Equal(t, ShiftJIS, r.Encoding())
			require.Equal(t, "email", r.Columns()[0].Field)
		})
	}
}

// TestShiftJISFixture reads a file written the way Excel writes one (Shift_JIS, CRLF
// line ends) from disk, so that the test does not depend only on the encoder it
// checks against. Regenerate it with go test -run TestShiftJISFixture -update.
func TestShiftJISFixture(t *testing.T) {
	path := filepath.Join("testdata", "leads_sjis.csv")
	if *update {
		data := toShiftJIS(t, strings.ReplaceAll(sjisSample, "\n", "\r\n"))
		require.NoError(t, os.WriteFile(path, data, 0o644))
	}
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	require.False(t, utf8.Valid(data))
	require.True(t, bytes.Contains(data, []byte("\r\n")))
	for _, enc := range []Encoding{Auto, ShiftJIS} {
		t.Run(string(enc), func(t *testing.T) {
			recs, errs, r := readFile(t, data, enc)
			require.Empty(t, errs)
			require.Equal(t, sjisRecords, recs)
			require.Equal(t, ShiftJIS, r.Encoding())
		})
	}
}

func TestWrongExplicitEncoding(t *testing.T) {
	_, err := NewReader(bytes.NewReader(toShiftJIS(t, sjisSample)), UTF8)
	require.ErrorContains(t, err, "leadcsv: the header on line 1 is not valid UTF-8; if the file is Shift_JIS")

	// Only the rows are Japanese: each is refused, and says why.
	data := toShiftJIS(t, "email,company\na@example.com,サンプル\nb@example.com,Acme\n")
	recs, errs, _ := readFile(t, data, UTF8)
	require.Equal(t, []int{3}, lines(recs))
	require.Len(t, errs, 1)
	require.Equal(t, "company", errs[0].Field)
	require.Contains(t, errs[0].Error(), "is not valid UTF-8; if the file is Shift_JIS, import it with the encoding set to shift_jis")

	// UTF-8 read as Shift_JIS. A Japanese header turns into nonsense, and the
	// error says what probably happened.
	_, err = NewReader(strings.NewReader(sjisSample), ShiftJIS)
	require.ErrorContains(t, err, `the header on line 1 has bytes that are not Shift_JIS; if the file is UTF-8`)
	_, err = NewReader(strings.NewReader("メールアドレス,サンプル\na@example.com,x\n"), ShiftJIS)
	require.ErrorContains(t, err, `no email column`)
	require.ErrorContains(t, err, `the header looks like UTF-8 read as Shift_JIS: import the file with the encoding set to auto or utf-8`)

	// In the rows, the decoder's replacement characters give it away. Not always:
	// "サンプル" decodes without one, as "繧ｵ繝ｳ繝励Ν", and nothing can tell that
	// from a real value, which is why an explicit encoding is trusted only when asked.
	recs, errs, _ = readFile(t, []byte("email,company\na@example.com,会社名\nb@example.com,サンプル\n"), ShiftJIS)
	require.Equal(t, []Record{{Line: 3, Email: "b@example.com", Company: ptr("繧ｵ繝ｳ繝励Ν")}}, recs)
	require.Len(t, errs, 1)
	require.Equal(t, "company", errs[0].Field)
	require.Contains(t, errs[0].Reason, "has bytes that are not Shift_JIS; if the file is UTF-8")
}

// asciiRows makes a run of ASCII rows longer than the sniffing window.
func asciiRows(n int) string {
	var b strings.Builder
	b.WriteString("email,company\n")
	for i := range n {
		b.WriteString("ascii")
		b.WriteString(strings.Repeat("x", i%7))
		b.WriteString("@example.com,Example Corporation Limited\n")
	}
	return b.String()
}

func TestAutoDecidesAtFirstNonASCII(t *testing.T) {
	const n = 2000
	head := asciiRows(n)
	require.Greater(t, len(head), sniffSize)
	tail := "late@example.jp,株式会社サンプル\n"

	for name, data := range map[string][]byte{
		"shift_jis": append([]byte(head), toShiftJIS(t, tail)...),
		"utf-8":     []byte(head + tail),
	} {
		t.Run(name, func(t *testing.T) {
			// One byte at a time, so that the sniffer sees the input in the
			// smallest pieces it can come in.
			r, err := NewReader(iotest.OneByteReader(bytes.NewReader(data)), Auto)
			require.NoError(t, err)
			recs, errs := readAll(t, r)
			require.Empty(t, errs)
			require.Len(t, recs, n+1)
			require.Equal(t, Record{Line: n + 2, Email: "late@example.jp", Company: ptr("株式会社サンプル")}, recs[n])
			require.Equal(t, Encoding(name), r.Encoding())
		})
	}
}

// TestAutoMixedFile covers the case Auto cannot get right: UTF-8 for longer than the
// window, then Shift_JIS. The Shift_JIS rows are refused with advice, not garbled.
func TestAutoMixedFile(t *testing.T) {
	var b strings.Builder
	b.WriteString("email,company\n")
	for i := 0; b.Len() < sniffSize+1000; i++ {
		b.WriteString("u@example.jp,株式会社ユーティーエフ\n")
	}
	data := append([]byte(b.String()), toShiftJIS(t, "s@example.jp,株式会社シフトジス\n")...)
	recs, errs, r := readFile(t, data, Auto)
	require.Equal(t, UTF8, r.Encoding())
	require.NotEmpty(t, recs)
	require.Len(t, errs, 1)
	require.Equal(t, "company", errs[0].Field)
	require.Contains(t, errs[0].Reason, "is not valid UTF-8; if the file is Shift_JIS")
}

func TestShiftJISBadBytes(t *testing.T) {
	data := append([]byte("email,company\na@example.com,"), 0x82, 0x20, '\n') // a lead byte without its trail byte
	data = append(data, toShiftJIS(t, "b@example.com,サンプル\n")...)
	recs, errs, r := readFile(t, data, Auto)
	require.Equal(t, ShiftJIS, r.Encoding())
	require.Equal(t, []Record{{Line: 3, Email: "b@example.com", Company: ptr("サンプル")}}, recs)
	require.Len(t, errs, 1)
	require.Equal(t, 2, errs[0].Line)
	require.Contains(t, errs[0].Reason, "has bytes that are not Shift_JIS")
}

func TestIsUTF8Prefix(t *testing.T) {
	a := []byte("メール") // three bytes a character
	for cut := 1; cut < len(a); cut++ {
		require.Equal(t, cut%3 == 0, isUTF8Prefix(a[:cut], true), "cut %d at end of file", cut)
		require.True(t, isUTF8Prefix(a[:cut], false), "cut %d with more to come", cut)
	}
	require.False(t, isUTF8Prefix([]byte{0x83, 0x81, 0x81, 0x5b}, false)) // メー in Shift_JIS
	require.False(t, isUTF8Prefix([]byte("ok\xff"), false))
	require.True(t, isUTF8Prefix(nil, true))
}

func TestSnifferReads(t *testing.T) {
	for name, in := range map[string][]byte{
		"ascii":     []byte(asciiRows(100)),
		"utf-8":     []byte(sjisSample),
		"shift_jis": toShiftJIS(t, sjisSample),
		"late":      append([]byte(asciiRows(100)), toShiftJIS(t, sjisSample)...),
	} {
		t.Run(name, func(t *testing.T) {
			want := in
			if name == "shift_jis" || name == "late" {
				var err error
				want, err = japanese.ShiftJIS.NewDecoder().Bytes(in)
				require.NoError(t, err)
			}
			s := &sniffer{br: bufio.NewReaderSize(bytes.NewReader(in), sniffSize)}
			require.NoError(t, iotest.TestReader(s, want))
		})
	}
}
