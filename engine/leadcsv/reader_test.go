package leadcsv

import (
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func ptr[T any](v T) *T { return &v }

// readAll reads a file to the end, checking on the way that Line agrees with every
// row returned.
func readAll(t *testing.T, r *Reader) ([]Record, []*RowError) {
	t.Helper()
	var recs []Record
	var errs []*RowError
	for {
		rec, err := r.Next()
		if err == io.EOF {
			// The end stays the end.
			_, err = r.Next()
			require.Equal(t, io.EOF, err)
			return recs, errs
		}
		var re *RowError
		if errors.As(err, &re) {
			require.Equal(t, re.Line, r.Line())
			errs = append(errs, re)
			continue
		}
		require.NoError(t, err)
		require.Equal(t, rec.Line, r.Line())
		recs = append(recs, rec)
	}
}

func lines(recs []Record) []int {
	var ls []int
	for _, r := range recs {
		ls = append(ls, r.Line)
	}
	return ls
}

// mixedRows is a file with good and bad rows mixed, numbered by line.
const mixedRows = "" +
	"email,氏名,会社名,従業員数,メール配信許諾,タグ,来場セミナー,Time Zone,\n" + // 1
	"taro@example.com,山田 太郎,株式会社サンプル,\"1,000名\",はい,\"展示会, VIP\",AI活用セミナー,Asia/Tokyo,\n" + // 2
	"not-an-email,佐藤 花子,サンプル商事,50,,,,,\n" + // 3: bad email
	"\n" + // 4: empty line
	",,,,,,,,\n" + // 5: blank row
	"hanako@example.com,\"鈴木\n" + // 6: multi-line cell starts
	"花子\",,,,,,,\n" + // 7
	"jiro@example.com,a,b,c,d,e,f,g,h,i\n" + // 8: too many cells
	"saburo@example.com,,,たくさん,,,,,\n" + // 9: bad employees
	"\"shiro@example.com\",John Smith,\"Acme, Inc.\",100〜499人,no,,\"memo\n" + // 10: multi-line attribute
	"more memo\n" + // 11
	"\",,\n" + // 12
	"goro@example.com,\"a\"b\",,,,,,,\n" + // 13: stray quote after a quoted cell
	"rokuro@example.com,x\"y,,,,,,,\n" + // 14: bare quote
	"shichi@example.com,,,,maybe,,,,\n" + // 15: bad consent
	"hachi@example.com\n" + // 16: too few cells
	"kyu@example.com,,,,,,,Mars/Olympus,\n" + // 17: bad time zone
	"  ,  , 　,,,,,,\n" + // 18: blank row of spaces
	"  juu@example.com  ,,,,,,,,\n" // 19: good, everything nil

func TestReaderMixedRows(t *testing.T) {
	r, err := NewReader(strings.NewReader(mixedRows), Auto)
	require.NoError(t, err)
	require.Equal(t, 1, r.Line())
	require.Equal(t, []Column{
		{0, "email", "email"},
		{1, "氏名", "name"},
		{2, "会社名", "company"},
		{3, "従業員数", "employees"},
		{4, "メール配信許諾", "consent"},
		{5, "タグ", "tags"},
		{6, "来場セミナー", "attributes.来場セミナー"},
		{7, "Time Zone", "timezone"},
		{8, "", ""},
	}, r.Columns())

	recs, errs := readAll(t, r)
	require.Equal(t, UTF8, r.Encoding())

	type rejected struct {
		Line  int
		Field string
		Value string
	}
	var got []rejected
	for _, e := range errs {
		got = append(got, rejected{e.Line, e.Field, e.Value})
	}
	require.Equal(t, []rejected{
		{3, "email", "not-an-email"},
		{8, "", ""},
		{9, "employees", "たくさん"},
		{13, "", ""},
		{14, "", ""},
		{15, "consent", "maybe"},
		{16, "", ""},
		{17, "timezone", "Mars/Olympus"},
	}, got)
	require.Equal(t, `line 3: email: "not-an-email" is not an email address`, errs[0].Error())
	require.Equal(t, `line 8: has 10 cells, the header has 9 (is there a comma in a cell that is not quoted?)`, errs[1].Error())
	require.Equal(t, `line 9: employees: "たくさん" is not a number of employees`, errs[2].Error())
	require.Equal(t, `line 13: has a quoted cell that is not closed properly: a " inside a quoted cell must be doubled`, errs[3].Error())
	require.Equal(t, `line 14: has a " in a cell that is not in quotes: such a cell must be quoted, with each " doubled`, errs[4].Error())
	require.Equal(t, `line 16: has 1 cells, the header has 9`, errs[6].Error())
	require.Equal(t, `line 17: timezone: "Mars/Olympus" is not an IANA time zone such as Asia/Tokyo`, errs[7].Error())

	require.Equal(t, []int{2, 6, 10, 19}, lines(recs))
	require.Equal(t, Record{
		Line:       2,
		Email:      "taro@example.com",
		FirstName:  ptr("太郎"),
		LastName:   ptr("山田"),
		Company:    ptr("株式会社サンプル"),
		Employees:  ptr(1000),
		Timezone:   ptr("Asia/Tokyo"),
		Consent:    ptr("granted"),
		Tags:       []string{"展示会", "VIP"},
		Attributes: map[string]string{"来場セミナー": "AI活用セミナー"},
	}, recs[0])
	require.Equal(t, Record{
		Line:      6,
		Email:     "hanako@example.com",
		FirstName: ptr("花子"),
		LastName:  ptr("鈴木"),
	}, recs[1])
	require.Equal(t, Record{
		Line:       10,
		Email:      "shiro@example.com",
		FirstName:  ptr("John"),
		LastName:   ptr("Smith"),
		Company:    ptr("Acme, Inc."),
		Employees:  ptr(100),
		Consent:    ptr("denied"),
		Attributes: map[string]string{"来場セミナー": "memo\nmore memo"},
	}, recs[2])
	require.Equal(t, Record{Line: 19, Email: "juu@example.com"}, recs[3])
}

func TestReaderUnclosedQuote(t *testing.T) {
	const file = "email,name\n" +
		"a@example.com,A\n" +
		"b@example.com,\"B\n" +
		"c@example.com,C\n" +
		"d@example.com,D\n"
	r, err := NewReader(strings.NewReader(file), Auto)
	require.NoError(t, err)
	recs, errs := readAll(t, r)
	require.Equal(t, []int{2}, lines(recs))
	require.Len(t, errs, 1)
	require.Equal(t, `line 3: has a quoted cell that is not closed properly: lines 3 to 5 were read as one row and skipped`, errs[0].Error())
}

func TestReaderNames(t *testing.T) {
	const file = "メールアドレス,氏名,姓,名\n" +
		"a@example.com,山田 太郎,,\n" + // split fills both
		"b@example.com,山田 太郎,山下,\n" + // explicit 姓 wins, 名 from the split
		"c@example.com,山田 太郎,山下,花子\n" + // explicit both win
		"d@example.com,山田太郎,,\n" + // no space: all of it is the last name
		"e@example.com,,佐藤,一郎\n" +
		"f@example.com,John Smith,,\n"
	r, err := NewReader(strings.NewReader(file), Auto)
	require.NoError(t, err)
	recs, errs := readAll(t, r)
	require.Empty(t, errs)
	type name struct{ first, last *string }
	var got []name
	for _, rec := range recs {
		got = append(got, name{rec.FirstName, rec.LastName})
	}
	require.Equal(t, []name{
		{ptr("太郎"), ptr("山田")},
		{ptr("太郎"), ptr("山下")},
		{ptr("花子"), ptr("山下")},
		{nil, ptr("山田太郎")},
		{ptr("一郎"), ptr("佐藤")},
		{ptr("John"), ptr("Smith")},
	}, got)
}

func TestReaderAllFields(t *testing.T) {
	const file = "E-mail,First Name,Last Name,Company,Department,Job Title,Phone,Employees,Industry,Country,Timezone,Lead Source,Opt-in,Tags,Memo\n" +
		"a@example.com,Taro,Yamada,Acme,Sales,Manager,03-1234-5678,1万,Manufacturing,JP,Asia/Tokyo,Expo 2025,yes,\"x;y\",hello\n" +
		"b@example.com,,,,,,,,,,,,,,\n"
	r, err := NewReader(strings.NewReader(file), UTF8)
	require.NoError(t, err)
	recs, errs := readAll(t, r)
	require.Empty(t, errs)
	require.Equal(t, []Record{{
		Line: 2, Email: "a@example.com", FirstName: ptr("Taro"), LastName: ptr("Yamada"),
		Company: ptr("Acme"), Department: ptr("Sales"), Title: ptr("Manager"), Phone: ptr("03-1234-5678"),
		Employees: ptr(10000), Industry: ptr("Manufacturing"), Country: ptr("JP"), Timezone: ptr("Asia/Tokyo"),
		Source: ptr("Expo 2025"), Consent: ptr("granted"), Tags: []string{"x", "y"},
		Attributes: map[string]string{"Memo": "hello"},
	}, {Line: 3, Email: "b@example.com"}}, recs)
}

func TestReaderCellRules(t *testing.T) {
	long := strings.Repeat("長", 1001)
	file := "email,company,memo,timezone\n" +
		"a@example.com,\x00Acme\x0b　,\"  x\r\ny  \",\n" + // 2-3: controls stripped, trimmed, newline kept
		"b@example.com," + long + ",,\n" + // 4: too long
		"c@example.com,,,Local\n" + // 5: the server's zone is not a zone
		"d@example.com,Acme\xff,,\n" + // 6: not UTF-8
		",Acme,,\n" + // 7: no email
		"Taro <e@example.com>,,,\n" // 8: display name
	r, err := NewReader(strings.NewReader(file), UTF8)
	require.NoError(t, err)
	recs, errs := readAll(t, r)
	require.Equal(t, []Record{{Line: 2, Email: "a@example.com", Company: ptr("Acme"), Attributes: map[string]string{"memo": "x\ny"}}}, recs)
	var got []string
	for _, e := range errs {
		got = append(got, e.Error())
	}
	require.Equal(t, []string{
		`line 4: company: "` + strings.Repeat("長", 80) + `"… is longer than 1000 characters`,
		`line 5: timezone: "Local" is not an IANA time zone such as Asia/Tokyo`,
		`line 6: company: "Acme\xff" is not valid UTF-8; if the file is Shift_JIS, import it with the encoding set to shift_jis`,
		`line 7: email: is required`,
		`line 8: email: "Taro <e@example.com>" is not an email address`,
	}, got)
}

func TestNewReaderErrors(t *testing.T) {
	tests := []struct {
		name string
		file string
		enc  Encoding
		want string
	}{
		{"empty", "", Auto, "leadcsv: the file is empty: it has no header row"},
		{"only blank rows", "\n\n,,,\n  ,\n", Auto, "leadcsv: the file is empty: it has no header row"},
		{"no email column", "name,company\nTaro,Acme\n", Auto, "leadcsv: no email column: the header must have one of email, e-mail"},
		{"duplicate", "Email,メール\n", Auto, `leadcsv: columns A ("Email") and B ("メール") both map to email`},
		{"bad header quote", "email,\"name\n", Auto, `leadcsv: the header on line 1 has a quoted cell that is not closed properly`},
		{"xlsx", "PK\x03\x04\x14\x00\x06\x00", Auto, "leadcsv: this is an Excel workbook"},
		{"utf-16", "\xff\xfee\x00m\x00a\x00i\x00l\x00", Auto, "leadcsv: the file looks like UTF-16"},
		{"utf-16 without mark", "e\x00m\x00a\x00i\x00l\x00\n\x00", UTF8, "leadcsv: the file looks like UTF-16"},
		{"bom under shift_jis", "\ufeffemail\n", ShiftJIS, "leadcsv: the file starts with a UTF-8 byte order mark"},
		{"header not utf-8", "email,\x83\x81\x81[\x83\x8b\n", UTF8, "leadcsv: the header on line 1 is not valid UTF-8"},
		{"unknown encoding", "email\n", Encoding("latin1"), `leadcsv: unknown encoding "latin1": use auto, utf-8 or shift_jis`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewReader(strings.NewReader(tt.file), tt.enc)
			require.ErrorContains(t, err, tt.want)
		})
	}
}

func TestReaderBOM(t *testing.T) {
	for _, enc := range []Encoding{Auto, UTF8, "", "UTF8"} {
		r, err := NewReader(strings.NewReader("\ufeffメールアドレス,会社名\r\ntaro@example.com,サンプル\r\n"), enc)
		require.NoError(t, err)
		require.Equal(t, "email", r.Columns()[0].Field)
		require.Equal(t, "メールアドレス", r.Columns()[0].Header)
		recs, errs := readAll(t, r)
		require.Empty(t, errs)
		require.Equal(t, []Record{{Line: 2, Email: "taro@example.com", Company: ptr("サンプル")}}, recs)
		require.Equal(t, UTF8, r.Encoding())
	}
}

// failingReader returns its data, then an error that is not io.EOF.
type failingReader struct {
	data string
	err  error
}

func (f *failingReader) Read(p []byte) (int, error) {
	if f.data == "" {
		return 0, f.err
	}
	n := copy(p, f.data)
	f.data = f.data[n:]
	return n, nil
}

func TestReaderReadErrorIsFatal(t *testing.T) {
	boom := errors.New("disk on fire")
	r, err := NewReader(&failingReader{data: "email\na@example.com\nb@example.com\n", err: boom}, UTF8)
	require.NoError(t, err)
	rec, err := r.Next()
	require.NoError(t, err)
	require.Equal(t, "a@example.com", rec.Email)
	rec, err = r.Next()
	require.NoError(t, err)
	require.Equal(t, "b@example.com", rec.Email)
	_, err = r.Next()
	require.ErrorIs(t, err, boom)
	var re *RowError
	require.False(t, errors.As(err, &re))
	_, err2 := r.Next()
	require.Equal(t, err, err2)

	_, err = NewReader(&failingReader{err: boom}, Auto)
	require.ErrorIs(t, err, boom)
}
