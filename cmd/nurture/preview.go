package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/nurture-dev/nurture/engine/lang"
	"github.com/nurture-dev/nurture/engine/lead"
	"github.com/nurture-dev/nurture/engine/message"
)

func (c *cli) preview(_ context.Context, args []string) error {
	var cfg Config
	fs := c.flagSet("preview", "preview TEMPLATE [--lead JSON] [--out FILE.html] [--open]",
		`Renders a template as a lead would get it, with no database: the subject, the
preheader and the text part are printed, the HTML is saved to a file. It is rendered
twice: for the lead given with --lead, and for a lead with no fields, so that the
fallbacks (default "ご担当者") show. TEMPLATE is a name such as whitepaper/thanks (a
path under the templates folder, such as templates/whitepaper/thanks.md, is taken too).

--lead is the lead as JSON, inline or a .json file, with the fields as the API writes
them: --lead '{"last_name": "山田", "company": "サンプル株式会社", "attributes": {"業種": "製造"}}'`)
	leadArg := fs.String("lead", "{}", "the lead as a JSON object, or a .json file holding one")
	out := fs.String("out", "", "where to save the HTML (default nurture-preview-NAME.html in the temporary folder); the empty lead's goes beside it with -empty")
	open := fs.Bool("open", false, "open the HTML in a browser (xdg-open or open)")
	s := newSettings(&cfg)
	s.register(fs, c.getenv, []string{"NURTURE_TEMPLATES_DIR", "NURTURE_BASE_URL", "NURTURE_LANG"})
	names, err := parseMixed(fs, args)
	if err != nil {
		return err
	}
	l, err := s.language()
	if err != nil {
		return &usageError{err.Error()}
	}
	if len(names) != 1 {
		return &usageError{"preview: name one template, such as whitepaper/thanks"}
	}
	full, err := previewLead(*leadArg)
	if err != nil {
		return &usageError{err.Error()}
	}
	set, err := message.Load(cfg.TemplatesDir)
	if set == nil {
		return err
	}
	name := templateName(cfg.TemplatesDir, names[0])
	if !set.Has(name) {
		if err != nil {
			fmt.Fprintln(c.stdout, lang.Join(l, unjoin(err)...))
			return errRejected
		}
		return &usageError{lang.New("preview: there is no template %q in %s", name, cfg.TemplatesDir).In(l)}
	}
	if *out == "" {
		*out = filepath.Join(os.TempDir(), "nurture-preview-"+strings.ReplaceAll(name, "/", "-")+".html")
	}
	emptyOut := strings.TrimSuffix(*out, ".html") + "-empty.html"
	say := func(format string, args ...any) { fmt.Fprintln(c.stdout, lang.New(format, args...).In(l)) }
	for _, p := range []struct {
		heading lang.Message
		lead    *lead.Lead
		file    string
	}{
		{lang.New("== %s for the lead given ==", name), full, *out},
		{lang.New("== %s for a lead with no fields (the fallbacks) ==", name), &lead.Lead{}, emptyOut},
	} {
		r, err := set.Render(name, message.Data{Lead: p.lead, UnsubscribeURL: strings.TrimSuffix(cfg.BaseURL, "/") + "/u/preview"})
		if err != nil {
			var me *message.Error
			if errors.As(err, &me) {
				fmt.Fprintln(c.stdout, me.In(l))
				return errRejected
			}
			return err
		}
		if err := os.WriteFile(p.file, []byte(r.HTML), 0o644); err != nil {
			return fmt.Errorf("save the preview: %w", err)
		}
		fmt.Fprintln(c.stdout, p.heading.In(l))
		say("subject: %s", r.Subject)
		if r.Preheader != "" {
			say("preheader: %s", r.Preheader)
		}
		say("HTML: %s", p.file)
		say("--- text part ---")
		fmt.Fprintln(c.stdout, strings.TrimRight(r.Text, "\n"))
		fmt.Fprintln(c.stdout)
		if *open {
			openFile(c, l, p.file)
		}
	}
	return nil
}

// templateName is a template's name from what was typed: a name, or a file's path
// under the templates folder.
func templateName(dir, arg string) string {
	name := filepath.ToSlash(arg)
	if rel, err := filepath.Rel(dir, arg); err == nil && !strings.HasPrefix(rel, "..") {
		name = filepath.ToSlash(rel)
	}
	for _, ext := range []string{".md", ".html"} {
		name = strings.TrimSuffix(name, ext)
	}
	// "templates/whitepaper/thanks" typed from elsewhere than the folder's parent.
	return strings.TrimPrefix(name, filepath.Base(dir)+"/")
}

// previewLead reads --lead as a lead, with the fields as the API writes them.
func previewLead(arg string) (*lead.Lead, error) {
	raw := []byte(arg)
	if !strings.HasPrefix(strings.TrimSpace(arg), "{") {
		b, err := os.ReadFile(arg)
		if err != nil {
			return nil, fmt.Errorf("--lead: %q is neither a JSON object nor a file that can be read: %w", arg, err)
		}
		raw = b
	}
	var l lead.Lead
	d := json.NewDecoder(bytes.NewReader(raw))
	d.DisallowUnknownFields()
	if err := d.Decode(&l); err != nil {
		return nil, fmt.Errorf("--lead: not a lead such as {\"last_name\": \"山田\", \"company\": \"サンプル株式会社\"}: %w", err)
	}
	return &l, nil
}

// openFile opens a file in the desktop's browser, when there is a command for it.
func openFile(c *cli, l lang.Lang, file string) {
	for _, cmd := range []string{"xdg-open", "open"} {
		if path, err := exec.LookPath(cmd); err == nil {
			if err := exec.Command(path, file).Start(); err == nil {
				return
			}
		}
	}
	fmt.Fprintln(c.stderr, lang.New("no xdg-open or open command: open %s in a browser", file).In(l))
}
