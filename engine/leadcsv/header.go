package leadcsv

import (
	"fmt"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
	"golang.org/x/text/width"
)

// Field names a Column maps to. They are the names lead fields have in the API, so
// that a message about a bad cell names the field the way the rest of nurture does.
const (
	fieldEmail      = "email"
	fieldFirstName  = "first_name"
	fieldLastName   = "last_name"
	fieldName       = "name"
	fieldCompany    = "company"
	fieldDepartment = "department"
	fieldTitle      = "title"
	fieldPhone      = "phone"
	fieldEmployees  = "employees"
	fieldIndustry   = "industry"
	fieldCountry    = "country"
	fieldTimezone   = "timezone"
	fieldSource     = "source"
	fieldConsent    = "consent"
	fieldTags       = "tags"

	attributePrefix = "attributes."
)

// synonymList is every header nurture recognises, as people write them. Japanese
// tools and hand-made sheets name the same column many ways, so the list is long; it is
// matched after normaliseHeader, which makes "E-Mail Address", "ＥＭＡＩＬ" and
// "メール　アドレス" look alike, so only one spelling of each is needed here.
var synonymList = []struct {
	field string
	names []string
}{
	{fieldEmail, []string{"email", "e-mail", "email address", "mail", "mail address",
		"メールアドレス", "メール", "eメール", "eメールアドレス", "電子メール", "電子メールアドレス"}},
	{fieldFirstName, []string{"first name", "given name", "名", "名前(名)", "ファーストネーム"}},
	{fieldLastName, []string{"last name", "surname", "family name", "姓", "苗字", "名字", "名前(姓)", "ラストネーム"}},
	{fieldName, []string{"name", "full name", "氏名", "名前", "お名前", "担当者名", "ご担当者名", "担当者", "氏名(漢字)"}},
	{fieldCompany, []string{"company", "company name", "organization", "organisation", "account",
		"会社名", "会社", "企業名", "社名", "法人名", "組織名"}},
	{fieldDepartment, []string{"department", "dept", "division", "部署", "部署名", "部門", "所属"}},
	{fieldTitle, []string{"title", "job title", "position", "role", "役職", "役職名", "肩書き", "肩書"}},
	{fieldPhone, []string{"phone", "tel", "telephone", "phone number", "mobile",
		"電話番号", "電話", "tel番号", "携帯電話", "携帯電話番号"}},
	{fieldEmployees, []string{"employees", "employee count", "number of employees", "company size", "headcount",
		"従業員数", "社員数", "従業員規模", "企業規模"}},
	{fieldIndustry, []string{"industry", "業種", "業界"}},
	{fieldCountry, []string{"country", "国", "国名"}},
	{fieldTimezone, []string{"timezone", "time zone", "tz", "タイムゾーン"}},
	{fieldSource, []string{"source", "lead source", "流入元", "リードソース", "獲得経路", "流入経路"}},
	{fieldConsent, []string{"consent", "opt-in", "email consent", "メール配信許諾", "配信許諾", "配信同意",
		"メルマガ配信", "メルマガ配信希望", "メール配信希望"}},
	{fieldTags, []string{"tags", "tag", "タグ"}},
}

// synonyms maps a normalised header to the field it names.
var synonyms = func() map[string]string {
	m := make(map[string]string)
	for _, s := range synonymList {
		for _, n := range s.names {
			k := normaliseHeader(n)
			if f, ok := m[k]; ok && f != s.field {
				// Two fields claiming one header would make the mapping depend on
				// map order; fail at start-up rather than import into the wrong field.
				panic(fmt.Sprintf("leadcsv: header %q is a synonym of both %s and %s", n, f, s.field))
			}
			m[k] = s.field
		}
	}
	return m
}()

// emailHeaders is the list shown when a file has no email column.
var emailHeaders = strings.Join(synonymList[0].names, ", ")

// normaliseHeader reduces a header to the form synonyms are matched in: folded (see
// fold), lower case, without the spaces and separators people put between words
// ("E-Mail", "first_name", "メール・アドレス").
func normaliseHeader(h string) string {
	h = strings.ToLower(fold(h))
	return strings.Map(func(r rune) rune {
		switch {
		case unicode.IsSpace(r), r == '_', r == '-', r == '・', r == '\u3000':
			return -1
		}
		return r
	}, h)
}

// fold undoes the width variants a Japanese input method produces: full-width Latin
// letters and digits become ASCII, half-width katakana become full-width. NFKC comes
// first because width folding alone leaves a half-width voiced mark as a separate
// character ("ﾄﾞ" would become "ト゛", not "ド").
func fold(s string) string {
	return width.Fold.String(norm.NFKC.String(s))
}

// Column says how one header of the file was understood.
type Column struct {
	// Index is the column's position in a row, from 0.
	Index int
	// Header is the header as written in the file, trimmed.
	Header string
	// Field is what the column fills: "email", "first_name", "last_name", "name" (a
	// full name that is split), "company", "department", "title", "phone",
	// "employees", "industry", "country", "timezone", "source", "consent", "tags", or
	// "attributes.<Header>" for a header nurture does not know. It is empty for a
	// column with a blank header, which is ignored: there is no name to keep its
	// cells under.
	Field string
}

// mapHeader works out the columns of a header row.
func mapHeader(cells []string) ([]Column, error) {
	cols := make([]Column, len(cells))
	seen := make(map[string]int)
	hasEmail := false
	for i, cell := range cells {
		h := strings.TrimFunc(stripControl(cell), unicode.IsSpace)
		col := Column{Index: i, Header: h}
		if h != "" {
			if f, ok := synonyms[normaliseHeader(h)]; ok {
				col.Field = f
			} else {
				col.Field = attributePrefix + h
			}
			if j, ok := seen[col.Field]; ok {
				return nil, fmt.Errorf("leadcsv: columns %s (%q) and %s (%q) both map to %s; remove or rename one of them",
					columnLetter(j), cols[j].Header, columnLetter(i), h, col.Field)
			}
			seen[col.Field] = i
			hasEmail = hasEmail || col.Field == fieldEmail
		}
		cols[i] = col
	}
	if !hasEmail {
		msg := "leadcsv: no email column: the header must have one of " + emailHeaders
		if len(cells) == 1 && strings.ContainsAny(cells[0], "\t;") {
			msg += "; the file looks separated by tabs or semicolons, save it as CSV (comma-separated)"
		}
		return nil, fmt.Errorf("%s (the header is %s)", msg, headerList(cols))
	}
	return cols, nil
}

// headerList quotes the first few headers for an error message.
func headerList(cols []Column) string {
	const most = 10
	var b strings.Builder
	for i, c := range cols {
		if i == most {
			fmt.Fprintf(&b, ", … %d more", len(cols)-most)
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(quote(c.Header))
	}
	return b.String()
}

// columnLetter names a column the way a spreadsheet does (A, B, …, Z, AA, …), which
// is how the person fixing the file will look for it.
func columnLetter(i int) string {
	var b []byte
	for i++; i > 0; i = (i - 1) / 26 {
		b = append([]byte{byte('A' + (i-1)%26)}, b...)
	}
	return string(b)
}
