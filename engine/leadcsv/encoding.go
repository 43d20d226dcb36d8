package leadcsv

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/japanese"
	"golang.org/x/text/transform"
)

// Encoding is the character encoding of a lead file.
type Encoding string

// Encodings a lead file may be in. Excel on Japanese Windows saves CSV as Shift_JIS
// (strictly, Microsoft's code page 932) unless told to use UTF-8, and most other tools
// write UTF-8, so these two cover what marketers bring.
const (
	// Auto tells UTF-8 from Shift_JIS by looking at the bytes; see NewReader.
	Auto     Encoding = "auto"
	UTF8     Encoding = "utf-8"
	ShiftJIS Encoding = "shift_jis"
)

// ParseEncoding reads an encoding name as a user would give it on the command line:
// auto, utf-8 (or utf8), or shift_jis (or sjis, cp932, windows-31j), in any case. The
// empty string is Auto.
func ParseEncoding(s string) (Encoding, error) {
	switch strings.ReplaceAll(strings.ToLower(strings.TrimSpace(s)), "-", "_") {
	case "", "auto":
		return Auto, nil
	case "utf_8", "utf8":
		return UTF8, nil
	case "shift_jis", "shiftjis", "sjis", "cp932", "ms932", "windows_31j":
		return ShiftJIS, nil
	}
	return "", fmt.Errorf("unknown encoding %q: use auto, utf-8 or shift_jis", s)
}

// sniffSize is how much of the file Auto looks at to decide. A window this large holds
// hundreds of rows, plenty to tell the encodings apart.
const sniffSize = 64 << 10

var (
	bomUTF8    = []byte{0xEF, 0xBB, 0xBF}
	bomUTF16LE = []byte{0xFF, 0xFE}
	bomUTF16BE = []byte{0xFE, 0xFF}
	zipMagic   = []byte("PK\x03\x04")
)

// openSource wraps in so that it yields UTF-8, and says in which encoding it reads
// (Auto until the sniffer has decided). It refuses files that are plainly not CSV in a
// supported encoding, because what the CSV parser would make of them is a baffling
// "no email column".
func openSource(in io.Reader, enc Encoding) (io.Reader, Encoding, *sniffer, error) {
	br := bufio.NewReaderSize(&stickyReader{r: in}, sniffSize)
	// A read error here is not reported yet: the sticky reader gives it again once
	// the bytes before it have been read.
	head, _ := br.Peek(512)
	switch {
	case bytes.HasPrefix(head, zipMagic):
		return nil, "", nil, errors.New("leadcsv: this is an Excel workbook (or another zip file), not CSV: save it as CSV first")
	case bytes.HasPrefix(head, bomUTF16LE), bytes.HasPrefix(head, bomUTF16BE), bytes.Count(head, []byte{0}) > len(head)/4:
		// Text in UTF-16 without a byte order mark is a NUL every other byte for
		// the Latin letters of a header; a stray NUL in a CSV file is only stripped.
		return nil, "", nil, errors.New("leadcsv: the file looks like UTF-16 (Excel's \"Unicode text\") or binary: save it as CSV in UTF-8 or Shift_JIS")
	case bytes.HasPrefix(head, bomUTF8):
		if enc == ShiftJIS {
			return nil, "", nil, errors.New("leadcsv: the file starts with a UTF-8 byte order mark, so it is UTF-8, not Shift_JIS")
		}
		// Excel's "CSV UTF-8" writes a byte order mark; left in, it would become part
		// of the first header and hide the email column.
		br.Discard(len(bomUTF8))
		enc = UTF8
	}
	switch enc {
	case UTF8:
		return br, enc, nil, nil
	case ShiftJIS:
		return transform.NewReader(br, japanese.ShiftJIS.NewDecoder()), enc, nil, nil
	case Auto:
		s := &sniffer{br: br}
		return s, enc, s, nil
	}
	return nil, "", nil, fmt.Errorf("leadcsv: unknown encoding %q", enc)
}

// stickyReader returns the first error of r on every read after it. Peeking through
// bufio consumes an error; an io.Reader need not return it twice, and one that does
// not would make a failed read look like the end of the file.
type stickyReader struct {
	r   io.Reader
	err error
}

func (s *stickyReader) Read(p []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	n, err := s.r.Read(p)
	s.err = err
	return n, err
}

// sniffer decides between UTF-8 and Shift_JIS at the first byte that is not ASCII.
// The two encodings agree on ASCII, so everything before that byte reads the same
// either way, and the decision is made on the 64 KiB that follow it rather than on
// the start of the file: a list whose first thousand rows are plain ASCII and which
// has Japanese names further down is still read correctly.
//
// The decision is final. A file that is valid UTF-8 for 64 KiB after its first
// non-ASCII byte and has Shift_JIS after that (a file pasted together from two
// sources) is read as UTF-8, and its later rows are rejected as not valid UTF-8, with
// a reason that suggests choosing the encoding explicitly. Very short Shift_JIS files
// made of half-width katakana alone can happen to be valid UTF-8 too; the same advice
// applies.
type sniffer struct {
	br  *bufio.Reader
	r   io.Reader // the decoder, once decided
	enc Encoding  // UTF8 or ShiftJIS, once decided
}

func (s *sniffer) Read(p []byte) (int, error) {
	if s.r != nil {
		return s.r.Read(p)
	}
	if len(p) == 0 {
		return 0, nil
	}
	if s.br.Buffered() == 0 {
		if _, err := s.br.Peek(1); err != nil {
			return 0, err
		}
	}
	buf, _ := s.br.Peek(s.br.Buffered())
	n := 0
	for n < len(buf) && n < len(p) && buf[n] < utf8.RuneSelf {
		n++
	}
	if n > 0 {
		copy(p, buf[:n])
		s.br.Discard(n)
		return n, nil
	}
	// A read error is decided on like the end of the file; it is returned once the
	// bytes before it have been read.
	window, err := s.br.Peek(sniffSize)
	if isUTF8Prefix(window, err != nil) {
		s.enc, s.r = UTF8, s.br
	} else {
		s.enc, s.r = ShiftJIS, transform.NewReader(s.br, japanese.ShiftJIS.NewDecoder())
	}
	return s.r.Read(p)
}

// isUTF8Prefix reports whether b is valid UTF-8, allowing it to end in the middle of
// a character when more of the file follows.
func isUTF8Prefix(b []byte, atEOF bool) bool {
	if !atEOF {
		for i := 1; i <= utf8.UTFMax && i <= len(b); i++ {
			if utf8.RuneStart(b[len(b)-i]) {
				if !utf8.FullRune(b[len(b)-i:]) {
					b = b[:len(b)-i]
				}
				break
			}
		}
	}
	return utf8.Valid(b)
}
