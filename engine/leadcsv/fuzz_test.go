package leadcsv

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"unicode/utf8"
)

// FuzzReader feeds arbitrary bytes through NewReader and Next. Whatever the input,
// the reader must not panic, must end (the input is finite), and everything it lets
// through must be what the importer is promised: a usable address, a positive line,
// rows in file order, and text that is valid UTF-8.
func FuzzReader(f *testing.F) {
	f.Add([]byte(mixedRows), uint8(0))
	f.Add([]byte(sjisSample), uint8(0))
	f.Add(toShiftJIS(f, sjisSample), uint8(0))
	f.Add(toShiftJIS(f, sjisSample), uint8(2))
	f.Add([]byte("\ufeffEmail,First Name,Last Name,Employees,Opt-in,Tags,Timezone\r\na@example.com,Taro,Yamada,1.2万,yes,\"x;y\",Asia/Tokyo\r\n"), uint8(1))
	f.Add([]byte("email,name\na@example.com,\"unclosed\nb@example.com,B\n"), uint8(0))
	f.Add([]byte("メールアドレス,氏名,姓,名\nb@example.com,山田 太郎,山下,\n"), uint8(1))

	encs := []Encoding{Auto, UTF8, ShiftJIS}
	f.Fuzz(func(t *testing.T, data []byte, e uint8) {
		enc := encs[int(e)%len(encs)]
		r, err := NewReader(bytes.NewReader(data), enc)
		if err != nil {
			return
		}
		last := r.Line()
		if last <= 0 {
			t.Fatalf("header line %d", last)
		}
		for {
			rec, err := r.Next()
			if err == io.EOF {
				return
			}
			var re *RowError
			if errors.As(err, &re) {
				if re.Line <= last || re.Line != r.Line() {
					t.Fatalf("row error on line %d after line %d (Line() = %d): %v", re.Line, last, r.Line(), re)
				}
				if re.Reason == "" {
					t.Fatalf("row error without a reason: %#v", re)
				}
				last = re.Line
				continue
			}
			if err != nil {
				// The input is in memory and decoding replaces what it cannot
				// read, so nothing here may fail the whole file.
				t.Fatalf("fatal error reading %q: %v", data, err)
			}
			if rec.Line <= last || rec.Line != r.Line() {
				t.Fatalf("record on line %d after line %d (Line() = %d)", rec.Line, last, r.Line())
			}
			last = rec.Line
			checkRecord(t, rec)
		}
	})
}

func checkRecord(t *testing.T, rec Record) {
	t.Helper()
	if _, err := checkEmail(rec.Email); err != nil || !isBareAddress(rec.Email) {
		t.Fatalf("line %d: bad email %q got through", rec.Line, rec.Email)
	}
	for _, p := range []*string{rec.FirstName, rec.LastName, rec.Company, rec.Department, rec.Title, rec.Phone,
		rec.Industry, rec.Country, rec.Timezone, rec.Source} {
		if p != nil {
			checkText(t, rec.Line, *p)
		}
	}
	if rec.Employees != nil && (*rec.Employees < 0 || *rec.Employees > maxEmployees) {
		t.Fatalf("line %d: employees %d", rec.Line, *rec.Employees)
	}
	if rec.Consent != nil && *rec.Consent != consentGranted && *rec.Consent != consentDenied {
		t.Fatalf("line %d: consent %q", rec.Line, *rec.Consent)
	}
	if rec.Tags != nil && len(rec.Tags) == 0 {
		t.Fatalf("line %d: empty, non-nil tags", rec.Line)
	}
	for _, tag := range rec.Tags {
		checkText(t, rec.Line, tag)
	}
	if rec.Attributes != nil && len(rec.Attributes) == 0 {
		t.Fatalf("line %d: empty, non-nil attributes", rec.Line)
	}
	for k, v := range rec.Attributes {
		checkText(t, rec.Line, k)
		checkText(t, rec.Line, v)
	}
}

// checkText checks a value the reader let through: present (an empty cell is nil, not
// ""), valid UTF-8, trimmed, within the length limit, no control characters but tab
// and newline.
func checkText(t *testing.T, line int, s string) {
	t.Helper()
	got, err := cleanText(s)
	if s == "" || !utf8.ValidString(s) || err != nil || got != s {
		t.Fatalf("line %d: bad text %q got through", line, s)
	}
}
