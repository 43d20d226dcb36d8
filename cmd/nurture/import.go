package main

import (
	"cmp"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/nurture-dev/nurture/engine/lead"
	"github.com/nurture-dev/nurture/engine/leadcsv"
)

// importBatch is how many rows go to the database in one transaction: large enough
// that a round trip is cheap per row, small enough that a lock is held briefly.
const importBatch = 2000

// shownRejections is how many rejected rows are printed; --report has them all.
const shownRejections = 20

func (c *cli) importLeads(ctx context.Context, args []string) error {
	var cfg Config
	fs := c.flagSet("import", "import [flags] FILE.csv",
		`Imports leads from a CSV file with a header row, matched by email (whatever its
case): new addresses are created, known ones updated with the non-empty cells. Headers
in English or Japanese are understood (email/メールアドレス, company/会社名, 氏名 or 姓
and 名, title/役職, employees/従業員数, ...); other columns are kept as attributes.
The file may be UTF-8 (with or without BOM) or Shift_JIS (Excel's "CSV" in Japan).

Bad rows are reported by line number with the reason and skipped; good rows are
imported. Attributes (the columns kept as attributes) obey the API's limits: at most
100 per lead, a value at most 4 KiB, all of a lead's together at most 64 KiB,
counting what the lead already has. Importing the same file again changes nothing. Exits 1 if a row was rejected.`)
	s := newSettings(&cfg)
	s.register(fs, c.getenv, databaseSettings)
	encoding := fs.String("encoding", "auto", "file encoding: auto, utf-8 or shift_jis")
	report := fs.String("report", "", "write rejected rows to this CSV file (line, field, value, reason)")
	dryRun := fs.Bool("dry-run", false, "check the file and report bad rows without touching the database")
	source := fs.String("source", "", "lead source recorded for new leads whose row has none (e.g. expo-2026)")
	tags := fs.String("tag", "", "comma-separated tags added to every imported lead")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return &usageError{"import takes one CSV file"}
	}
	if err := cfg.validate(s); err != nil {
		return err
	}
	enc, err := leadcsv.ParseEncoding(*encoding)
	if err != nil {
		return &usageError{"--encoding: " + err.Error()}
	}
	path := fs.Arg(0)
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return err
	}
	log := c.logger(&cfg)

	var db *database
	if !*dryRun {
		if db, err = openDatabase(ctx, &cfg, log); err != nil {
			return err
		}
		defer db.Close()
	}

	imp := &importer{
		extraTags: splitList(*tags),
		stderr:    c.stderr,
	}
	if *source != "" {
		imp.source = source
	}
	var in io.Reader = f
	if isTerminal(c.stderr) {
		bar := progressbar.NewOptions64(info.Size(),
			progressbar.OptionSetWriter(c.stderr),
			progressbar.OptionSetDescription("importing "+path),
			progressbar.OptionShowBytes(true),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionClearOnFinish(),
		)
		defer bar.Finish() //nolint:errcheck // only the terminal's display
		in = io.TeeReader(f, bar)
	}
	r, err := leadcsv.NewReader(in, enc)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	imp.describeColumns(r)

	save := func(batch []lead.Input) ([]lead.Outcome, error) { return nil, nil }
	if db != nil {
		save = func(batch []lead.Input) ([]lead.Outcome, error) {
			return lead.Upsert(ctx, db.Pool, "import", batch)
		}
	}
	start := time.Now()
	runErr := imp.run(ctx, r, save)
	elapsed := time.Since(start)

	if *report != "" {
		if err := writeReport(*report, imp.rejected); err != nil {
			return err
		}
	}
	imp.summarise(c.stdout, path, elapsed, *dryRun, *report)
	if runErr != nil {
		return fmt.Errorf("%w: the rows written so far stay, and importing the file again is safe and finishes the job", runErr)
	}
	if len(imp.rejected) > 0 {
		return errRejected
	}
	return nil
}

// importer turns rows into lead upserts, batch by batch, and counts what happened.
type importer struct {
	source    *string
	extraTags []string
	stderr    io.Writer

	mu                                            sync.Mutex // guards what follows
	rows, created, updated, unchanged, duplicates int
	rejected                                      []leadcsv.RowError
}

// batch is rows on their way to the database, with the line each came from.
type batch struct {
	inputs []lead.Input
	lines  []int
}

func (imp *importer) reject(re leadcsv.RowError) {
	imp.mu.Lock()
	defer imp.mu.Unlock()
	imp.rejected = append(imp.rejected, re)
}

// run reads every row and upserts them in batches. Rows are dealt to importStreams
// writers by a hash of their email, so the database works on batches in parallel
// while the rows of one lead still arrive in file order (a later row wins) and no
// two writers ever touch the same lead.
func (imp *importer) run(ctx context.Context, r *leadcsv.Reader, save func([]lead.Input) ([]lead.Outcome, error)) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	streams := make([]chan batch, importStreams)
	for i := range streams {
		streams[i] = make(chan batch, 1)
	}

	var readErr error // set by the reader before it closes the streams
	go func() {
		defer func() {
			for _, ch := range streams {
				close(ch)
			}
		}()
		pending := make([]batch, len(streams))
		send := func(i int) bool {
			select {
			case streams[i] <- pending[i]:
				pending[i] = batch{}
				return true
			case <-ctx.Done():
				return false
			}
		}
		for {
			rec, err := r.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			var re *leadcsv.RowError
			if errors.As(err, &re) {
				imp.reject(*re)
				continue
			}
			if err != nil {
				readErr = fmt.Errorf("line %d: %w", r.Line(), err)
				return
			}
			in := imp.input(rec)
			if err := in.Validate(); err != nil {
				var fe *lead.FieldError
				if !errors.As(err, &fe) {
					readErr = err
					return
				}
				imp.reject(leadcsv.RowError{Line: rec.Line, Field: fe.Field, Value: rec.Email, Reason: fe.Reason})
				continue
			}
			i := stream(in.Email)
			pending[i].inputs = append(pending[i].inputs, in)
			pending[i].lines = append(pending[i].lines, rec.Line)
			if len(pending[i].inputs) == importBatch && !send(i) {
				return
			}
		}
		for i := range pending {
			if len(pending[i].inputs) > 0 && !send(i) {
				return
			}
		}
	}()

	var wg sync.WaitGroup
	var saveErr error
	for _, ch := range streams {
		wg.Go(func() {
			for b := range ch {
				b, out, err := imp.save(b, save)
				imp.mu.Lock()
				if err != nil {
					saveErr = cmp.Or(saveErr, err)
					cancel()
				} else {
					imp.count(b.inputs, out)
				}
				imp.mu.Unlock()
				if err != nil {
					break
				}
			}
			// Let the reader finish if this writer stopped early.
			for range ch {
			}
		})
	}
	wg.Wait()
	// Rows refused by the database come after the reader's; report in file order.
	slices.SortStableFunc(imp.rejected, func(a, b leadcsv.RowError) int { return cmp.Compare(a.Line, b.Line) })
	if saveErr == nil && readErr == nil && ctx.Err() != nil {
		return errors.New("interrupted")
	}
	return cmp.Or(saveErr, readErr)
}

// save writes a batch. A row the database refuses on its own account (it would take
// a lead over the attribute limits, counting what is stored) is rejected with its
// line and the others are written without it; save returns the rows it wrote.
func (imp *importer) save(b batch, save func([]lead.Input) ([]lead.Outcome, error)) (batch, []lead.Outcome, error) {
	for {
		out, err := save(b.inputs)
		var ie *lead.InputError
		if err == nil || !errors.As(err, &ie) || ie.Index < 0 || ie.Index >= len(b.inputs) {
			return b, out, err
		}
		re := leadcsv.RowError{Line: b.lines[ie.Index], Value: b.inputs[ie.Index].Email, Reason: ie.Err.Error()}
		var fe *lead.FieldError
		if errors.As(ie.Err, &fe) {
			re.Field, re.Reason = fe.Field, fe.Reason
		}
		imp.reject(re)
		b.inputs = slices.Delete(b.inputs, ie.Index, ie.Index+1)
		b.lines = slices.Delete(b.lines, ie.Index, ie.Index+1)
		if len(b.inputs) == 0 {
			return b, nil, nil
		}
	}
}

// importStreams is how many batches the database writes at once.
const importStreams = 2

func stream(email string) int {
	h := fnv.New32a()
	h.Write([]byte(strings.ToLower(email)))
	return int(h.Sum32() % importStreams)
}

// count tallies one batch per row: the first row of a lead in the batch counts what
// happened to the lead, later rows of the same lead count as duplicates merged into it.
func (imp *importer) count(inputs []lead.Input, out []lead.Outcome) {
	imp.rows += len(inputs)
	if out == nil { // a dry run
		imp.unchanged += len(inputs)
		return
	}
	seen := make(map[int64]bool, len(out))
	for _, o := range out {
		switch {
		case seen[o.ID]:
			imp.duplicates++
		case o.Created:
			imp.created++
		case len(o.Changed) > 0:
			imp.updated++
		default:
			imp.unchanged++
		}
		seen[o.ID] = true
	}
}

func (imp *importer) input(rec leadcsv.Record) lead.Input {
	in := lead.Input{
		Email: rec.Email, FirstName: rec.FirstName, LastName: rec.LastName, Company: rec.Company,
		Department: rec.Department, Title: rec.Title, Phone: rec.Phone, Employees: rec.Employees,
		Industry: rec.Industry, Country: rec.Country, Timezone: rec.Timezone, Source: rec.Source,
		Consent: rec.Consent, Tags: rec.Tags,
	}
	if in.Source == nil {
		in.Source = imp.source
	}
	if len(imp.extraTags) > 0 {
		in.Tags = append(append([]string(nil), in.Tags...), imp.extraTags...)
	}
	if len(rec.Attributes) > 0 {
		in.Attributes = make(map[string]any, len(rec.Attributes))
		for k, v := range rec.Attributes {
			in.Attributes[k] = v
		}
	}
	return in
}

func (imp *importer) describeColumns(r *leadcsv.Reader) {
	var parts []string
	for _, col := range r.Columns() {
		parts = append(parts, fmt.Sprintf("%s → %s", col.Header, col.Field))
	}
	fmt.Fprintf(imp.stderr, "encoding %s; columns: %s\n", r.Encoding(), strings.Join(parts, ", "))
}

func (imp *importer) summarise(w io.Writer, path string, elapsed time.Duration, dryRun bool, report string) {
	total := imp.rows + len(imp.rejected)
	if dryRun {
		fmt.Fprintf(w, "%s: %d rows checked (dry run, nothing written): %d good, %d rejected\n",
			path, total, imp.rows, len(imp.rejected))
	} else {
		rate := float64(total) / max(elapsed.Seconds(), 1e-9)
		fmt.Fprintf(w, "%s: %d rows in %s (%.0f rows/s): %d created, %d updated, %d unchanged, %d duplicate rows merged, %d rejected\n",
			path, total, elapsed.Round(time.Millisecond), rate, imp.created, imp.updated, imp.unchanged, imp.duplicates, len(imp.rejected))
	}
	for i, re := range imp.rejected {
		if i == shownRejections {
			more := fmt.Sprintf("  … and %d more", len(imp.rejected)-shownRejections)
			if report == "" {
				more += " (--report FILE writes them all)"
			}
			fmt.Fprintln(w, more)
			break
		}
		fmt.Fprintf(w, "  rejected %s\n", re.Error())
	}
	if report != "" && len(imp.rejected) > 0 {
		fmt.Fprintf(w, "rejected rows written to %s\n", report)
	}
}

// writeReport writes rejected rows as a CSV that opens in Excel (UTF-8 with BOM).
// Cells come from the imported file, so each is defused against formula injection.
func writeReport(path string, rejected []leadcsv.RowError) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.WriteString("\uFEFF"); err != nil {
		f.Close()
		return err
	}
	w := csv.NewWriter(f)
	_ = w.Write([]string{"line", "field", "value", "reason"})
	for _, re := range rejected {
		_ = w.Write([]string{strconv.Itoa(re.Line), safeCell(re.Field), safeCell(re.Value), safeCell(re.Reason)})
	}
	w.Flush()
	if err := w.Error(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// safeCell keeps a spreadsheet from running a cell as a formula (CSV injection).
func safeCell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

func splitList(s string) []string {
	var out []string
	for part := range strings.SplitSeq(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
