// Package leadcsv reads lead lists exported from spreadsheets and other tools: CSV
// files in UTF-8 or Shift_JIS, with headers in English or Japanese ("Email",
// "メールアドレス", "ＥＭＡＩＬ"), turned into validated lead records for
// `nurture import`. It is a parser and nothing more: it does not touch the database,
// and a row it rejects is reported with its line number so that the person who
// brought the file can fix that row and import again.
//
// The rules follow from where such files come from. An import only ever adds to what
// nurture knows, so a column the file lacks and a cell left blank both mean "keep what
// is stored", never "clear it". Headers nurture does not recognise are kept as
// attributes rather than dropped, since they are often what the marketer cares about
// (a seminar name, a sales rep). Values written the way Japanese sheets write them
// ("1,000名", "100〜499人", "○", "許可") are understood.
package leadcsv

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/encoding/japanese"
)

// Record is one good row of a lead file.
//
// A nil pointer field means the file says nothing about it: either there is no such
// column, or the cell is empty. Spreadsheets leave cells blank for "don't know", and an
// import must not wipe what nurture already has because of that.
type Record struct {
	// Line is the line of the file on which the row starts, from 1 (the header is
	// usually line 1). A quoted cell may span lines; the row's line is its first.
	Line int
	// Email is the lead's address, trimmed and otherwise as written.
	Email string

	FirstName  *string
	LastName   *string
	Company    *string
	Department *string
	Title      *string
	Phone      *string
	Employees  *int
	Industry   *string
	Country    *string
	// Timezone is an IANA time zone name such as Asia/Tokyo.
	Timezone *string
	Source   *string
	// Consent is "granted" or "denied".
	Consent *string
	// Tags are the tags in the tags column, split at commas, semicolons and 、.
	// It is nil when there is no tags column or no tag in the cell.
	Tags []string
	// Attributes holds the cells of columns nurture does not know, under their
	// headers as written (trimmed). Empty cells are left out; the map is nil when
	// nothing is left.
	Attributes map[string]string
}

// RowError is a row that was rejected. The rest of the file can still be read.
type RowError struct {
	// Line is the line on which the row starts.
	Line int
	// Field is the field of the bad cell, such as "email" or "employees", or empty
	// when the row as a whole is wrong (wrong number of cells, broken quoting).
	Field string
	// Value is the bad cell, as found.
	Value string
	// Reason says what is wrong, in a form that reads after the value:
	// "is not an email address".
	Reason string
}

// Error reads like `line 7: email: "foo" is not an email address`.
func (e *RowError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "line %d: ", e.Line)
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	if e.Value != "" {
		b.WriteString(quote(e.Value))
		b.WriteByte(' ')
	}
	b.WriteString(e.Reason)
	return b.String()
}

// quote quotes s for a message, cut to 80 characters: a message is read in a terminal,
// and the start of a long cell is enough to find it.
func quote(s string) string {
	const most = 80
	n := 0
	for i := range s {
		if n == most {
			return strconv.Quote(s[:i]) + "…"
		}
		n++
	}
	return strconv.Quote(s)
}

// Reader reads lead records from a CSV file.
type Reader struct {
	cr    *csv.Reader
	enc   Encoding
	sniff *sniffer // non-nil under Auto
	cols  []Column
	line  int
	err   error // sticky: io.EOF or a fatal error
	zones map[string]bool
}

// NewReader reads the header of a lead file and works out its columns (see Columns).
// It fails when the file is empty, when no column holds email addresses, or when two
// columns map to the same field: importing either of two "email" columns would be a
// guess.
//
// Under Auto, a UTF-8 byte order mark means UTF-8; otherwise the encoding is decided
// at the first byte that is not ASCII, on the 64 KiB that follow it: valid UTF-8 is
// read as UTF-8, anything else as Shift_JIS (code page 932, as Excel writes it).
func NewReader(in io.Reader, enc Encoding) (*Reader, error) {
	// Accept the names ParseEncoding does, so that a caller passing a user's
	// "UTF-8" or "cp932" straight through is not refused.
	enc, err := ParseEncoding(string(enc))
	if err != nil {
		return nil, fmt.Errorf("leadcsv: %w", err)
	}
	src, enc, sniff, err := openSource(in, enc)
	if err != nil {
		return nil, err
	}
	cr := csv.NewReader(src)
	cr.FieldsPerRecord = -1 // counted here, so that a short row is a RowError
	cr.ReuseRecord = true
	r := &Reader{cr: cr, enc: enc, sniff: sniff, zones: make(map[string]bool)}
	for {
		cells, err := cr.Read()
		var pe *csv.ParseError
		switch {
		case err == io.EOF:
			return nil, errors.New("leadcsv: the file is empty: it has no header row")
		case errors.As(err, &pe):
			return nil, fmt.Errorf("leadcsv: the header on line %d %s", pe.StartLine, quoteReason(pe))
		case err != nil:
			return nil, fmt.Errorf("leadcsv: reading the header: %w", err)
		}
		if isBlank(cells) {
			// Some exports start with an empty row or a row of commas.
			continue
		}
		r.line, _ = cr.FieldPos(0)
		for _, c := range cells {
			if err := r.checkDecoded(c); err != nil {
				return nil, fmt.Errorf("leadcsv: the header on line %d %s", r.line, err)
			}
		}
		if r.cols, err = mapHeader(cells); err != nil {
			if enc == ShiftJIS && looksLikeUTF8(cells) {
				err = fmt.Errorf("%w; the header looks like UTF-8 read as Shift_JIS: import the file with the encoding set to auto or utf-8", err)
			}
			return nil, err
		}
		return r, nil
	}
}

// Columns returns how each column of the header was mapped, in file order.
func (r *Reader) Columns() []Column {
	return slices.Clone(r.cols)
}

// Encoding returns the encoding the file is being read in. Under Auto it is UTF8
// until the first non-ASCII byte has been read (the two agree on ASCII) and the
// detected encoding after that, so asked at the end it says what the file was.
func (r *Reader) Encoding() Encoding {
	if r.sniff != nil {
		if r.sniff.enc == "" {
			return UTF8
		}
		return r.sniff.enc
	}
	return r.enc
}

// Line returns the line on which the last row read (good, bad or the header) starts.
func (r *Reader) Line() int {
	return r.line
}

// Next returns the next good row. It returns io.EOF at the end of the file and a
// *RowError for a row that cannot be imported; the caller records it and calls Next
// again. Any other error (reading the file failed) ends the file: later calls return
// it again. Rows with nothing in them are skipped.
func (r *Reader) Next() (Record, error) {
	if r.err != nil {
		return Record{}, r.err
	}
	for {
		cells, err := r.cr.Read()
		var pe *csv.ParseError
		switch {
		case err == io.EOF:
			r.err = io.EOF
			return Record{}, r.err
		case errors.As(err, &pe):
			// encoding/csv gives up on a row at a quoting error and carries on with
			// the next line, so the rest of the file can still be read. When a quote
			// is never closed, it has read everything to the end of the file into
			// that one row; the reason says which lines went.
			r.line = pe.StartLine
			return Record{}, &RowError{Line: pe.StartLine, Reason: quoteReason(pe)}
		case err != nil:
			r.err = fmt.Errorf("leadcsv: reading after line %d: %w", r.line, err)
			return Record{}, r.err
		}
		r.line, _ = r.cr.FieldPos(0)
		if isBlank(cells) {
			continue
		}
		if len(cells) != len(r.cols) {
			reason := fmt.Sprintf("has %d cells, the header has %d", len(cells), len(r.cols))
			if len(cells) > len(r.cols) {
				reason += " (is there a comma in a cell that is not quoted?)"
			}
			return Record{}, &RowError{Line: r.line, Reason: reason}
		}
		return r.record(cells)
	}
}

// record validates one row that has a cell for every column.
func (r *Reader) record(cells []string) (Record, error) {
	rec := Record{Line: r.line}
	bad := func(col Column, value string, err error) (Record, error) {
		return Record{}, &RowError{Line: r.line, Field: col.Field, Value: value, Reason: err.Error()}
	}
	// The email is checked first: without it the row is nothing, and "email is
	// required" says more about a stray row than a complaint about its other cells.
	for _, col := range r.cols {
		if col.Field != fieldEmail {
			continue
		}
		cell := cells[col.Index]
		if err := r.checkDecoded(cell); err != nil {
			return bad(col, cell, err)
		}
		email, err := checkEmail(cell)
		if err != nil {
			return bad(col, email, err)
		}
		rec.Email = email
	}
	var fullName *string
	for _, col := range r.cols {
		if col.Field == "" || col.Field == fieldEmail {
			continue
		}
		cell := cells[col.Index]
		if err := r.checkDecoded(cell); err != nil {
			return bad(col, cell, err)
		}
		text, err := cleanText(cell)
		if err != nil {
			return bad(col, cell, err)
		}
		if text == "" {
			continue
		}
		switch col.Field {
		case fieldName:
			fullName = &text
		case fieldEmployees:
			if rec.Employees, err = parseEmployees(text); err != nil {
				return bad(col, text, err)
			}
		case fieldConsent:
			if rec.Consent, err = parseConsent(text); err != nil {
				return bad(col, text, err)
			}
		case fieldTags:
			rec.Tags = splitTags(text)
		case fieldTimezone:
			if !r.validZone(text) {
				return bad(col, text, errors.New("is not an IANA time zone such as Asia/Tokyo"))
			}
			rec.Timezone = &text
		default:
			if p := rec.textField(col.Field); p != nil {
				*p = &text
				break
			}
			if rec.Attributes == nil {
				rec.Attributes = make(map[string]string)
			}
			rec.Attributes[col.Header] = text
		}
	}
	if fullName != nil {
		// Separate first and last name columns say exactly what the sheet means, so
		// the split only fills what they leave empty.
		first, last := splitName(*fullName)
		if rec.FirstName == nil && first != "" {
			rec.FirstName = &first
		}
		if rec.LastName == nil && last != "" {
			rec.LastName = &last
		}
	}
	return rec, nil
}

// textField returns the plain text field named field, or nil.
func (rec *Record) textField(field string) **string {
	switch field {
	case fieldFirstName:
		return &rec.FirstName
	case fieldLastName:
		return &rec.LastName
	case fieldCompany:
		return &rec.Company
	case fieldDepartment:
		return &rec.Department
	case fieldTitle:
		return &rec.Title
	case fieldPhone:
		return &rec.Phone
	case fieldIndustry:
		return &rec.Industry
	case fieldCountry:
		return &rec.Country
	case fieldSource:
		return &rec.Source
	}
	return nil
}

var errNotShiftJIS = errors.New("has bytes that are not Shift_JIS; if the file is UTF-8, import it with the encoding set to utf-8")

// checkDecoded reports a cell the decoder could not make sense of. Shift_JIS has no
// U+FFFD of its own, so one in a Shift_JIS file marks bytes the decoder replaced; in
// UTF-8 the bad bytes are still there.
func (r *Reader) checkDecoded(s string) error {
	if r.Encoding() == ShiftJIS {
		if strings.ContainsRune(s, utf8.RuneError) {
			return errNotShiftJIS
		}
		return nil
	}
	if !utf8.ValidString(s) {
		return errNotUTF8
	}
	return nil
}

// looksLikeUTF8 reports whether cells decoded as Shift_JIS were UTF-8 all along: UTF-8
// read as Shift_JIS mostly decodes without error into nonsense ("繝｡繝ｼ繝ｫ"), and
// encoding it back gives the original bytes.
func looksLikeUTF8(cells []string) bool {
	s := strings.Join(cells, ",")
	b, err := japanese.ShiftJIS.NewEncoder().Bytes([]byte(s))
	return err == nil && utf8.Valid(b) && len(b) != utf8.RuneCount(b)
}

// validZone reports whether name is an IANA time zone. Answers are remembered because
// a list usually has one or two zones on thousands of rows, and LoadLocation reads the
// zone database every time.
func (r *Reader) validZone(name string) bool {
	if ok, seen := r.zones[name]; seen {
		return ok
	}
	// "Local" is the server's zone, whatever that is, not the lead's.
	_, err := time.LoadLocation(name)
	ok := err == nil && !strings.EqualFold(name, "local")
	if len(r.zones) < 1000 {
		r.zones[name] = ok
	}
	return ok
}

// isBlank reports whether a row has nothing in it. Spreadsheets export empty rows as
// a line of commas, and rows of spaces are no better.
func isBlank(cells []string) bool {
	for _, c := range cells {
		if strings.IndexFunc(c, func(r rune) bool { return !unicode.IsSpace(r) && !unicode.IsControl(r) }) >= 0 {
			return false
		}
	}
	return true
}

// quoteReason explains a CSV quoting error to someone looking at the file in a text
// editor or a spreadsheet.
func quoteReason(pe *csv.ParseError) string {
	switch {
	case errors.Is(pe.Err, csv.ErrBareQuote):
		where := ""
		if pe.Line != pe.StartLine {
			where = fmt.Sprintf(" on line %d", pe.Line)
		}
		return fmt.Sprintf(`has a " in a cell that is not in quotes%s: such a cell must be quoted, with each " doubled`, where)
	case errors.Is(pe.Err, csv.ErrQuote) && pe.Line != pe.StartLine:
		// Most often a quote that is never closed, which takes everything up to
		// the end of the file with it: the line numbers show how much.
		return fmt.Sprintf(`has a quoted cell that is not closed properly: lines %d to %d were read as one row and skipped`, pe.StartLine, pe.Line)
	case errors.Is(pe.Err, csv.ErrQuote):
		return `has a quoted cell that is not closed properly: a " inside a quoted cell must be doubled`
	}
	return pe.Err.Error()
}
