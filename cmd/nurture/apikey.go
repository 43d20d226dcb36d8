package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/nurture-dev/nurture/engine/apikey"
)

// apikeyCommands are the subcommands of `nurture apikey`.
var apikeyCommands = []struct{ name, synopsis, summary string }{
	{"create", "apikey create [--name NAME] [flags]", "make a key and print it, this once"},
	{"list", "apikey list [flags]", "list keys: ID, name, when made and last used, revoked or not"},
	{"revoke", "apikey revoke [flags] ID", "stop the key with this ID from working"},
}

func (c *cli) apikey(ctx context.Context, args []string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(c.stderr, "Usage: nurture apikey <create|list|revoke> [flags]\n\n"+
			"Manages the bearer keys of the JSON API. Only a key's SHA-256 hash is stored: a\n"+
			"key is printed once, when it is made. The key set by NURTURE_API_KEY is listed as\n"+
			"\"bootstrap\"; once revoked it stays revoked across restarts until NURTURE_API_KEY\n"+
			"is given a new value.\n\nSubcommands:\n")
		for _, sc := range apikeyCommands {
			fmt.Fprintf(c.stderr, "  %-7s %s\n", sc.name, sc.summary)
		}
		if len(args) == 0 {
			return &usageError{"apikey needs a subcommand: create, list or revoke"}
		}
		return flag.ErrHelp
	}
	switch args[0] {
	case "create":
		return c.apikeyCreate(ctx, args[1:])
	case "list":
		return c.apikeyList(ctx, args[1:])
	case "revoke":
		return c.apikeyRevoke(ctx, args[1:])
	}
	return &usageError{fmt.Sprintf("unknown apikey subcommand %q: use create, list or revoke", args[0])}
}

func (c *cli) apikeyCreate(ctx context.Context, args []string) error {
	var cfg Config
	fs := c.flagSet("apikey create", apikeyCommands[0].synopsis,
		`Makes an API key and prints it alone on stdout, so that a script can capture it;
it is shown this once, and only its hash is stored. Without --name the key is
named after its ID (key-7).`)
	s := newSettings(&cfg)
	s.register(fs, c.getenv, databaseSettings)
	name := fs.String("name", "", "what the key is for, unique (e.g. crm-sync)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return &usageError{fmt.Sprintf("apikey create takes no arguments, got %q (use --name)", fs.Args())}
	}
	db, err := c.openForAPIKeys(ctx, &cfg, s)
	if err != nil {
		return err
	}
	defer db.Close()
	k, secret, err := apikey.Create(ctx, db.Pool, *name)
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stderr, "created API key %d %q; it is not shown again:\n", k.ID, k.Name)
	fmt.Fprintln(c.stdout, secret)
	return nil
}

func (c *cli) apikeyList(ctx context.Context, args []string) error {
	var cfg Config
	fs := c.flagSet("apikey list", apikeyCommands[1].synopsis,
		"Lists every API key, revoked ones too, oldest first. Secrets are never shown.")
	s := newSettings(&cfg)
	s.register(fs, c.getenv, databaseSettings)
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return &usageError{fmt.Sprintf("apikey list takes no arguments, got %q", fs.Args())}
	}
	db, err := c.openForAPIKeys(ctx, &cfg, s)
	if err != nil {
		return err
	}
	defer db.Close()
	keys, err := apikey.List(ctx, db.Pool)
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(c.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "ID\tNAME\tCREATED\tLAST USED\tSTATUS")
	stamp := func(t *time.Time) string {
		if t == nil {
			return "never"
		}
		return t.Local().Format(time.DateTime)
	}
	for _, k := range keys {
		status := "active"
		if k.RevokedAt != nil {
			status = "revoked " + stamp(k.RevokedAt)
		}
		fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\n", k.ID, k.Name, stamp(&k.CreatedAt), stamp(k.LastUsedAt), status)
	}
	return w.Flush()
}

func (c *cli) apikeyRevoke(ctx context.Context, args []string) error {
	var cfg Config
	fs := c.flagSet("apikey revoke", apikeyCommands[2].synopsis,
		`Stops the key with this ID (see 'nurture apikey list') from working, at once and
for good. Revoking the bootstrap key holds across restarts; give NURTURE_API_KEY a
new value to replace it.`)
	s := newSettings(&cfg)
	s.register(fs, c.getenv, databaseSettings)
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return &usageError{"apikey revoke takes one key ID (see 'nurture apikey list')"}
	}
	id, err := strconv.ParseInt(strings.TrimSpace(fs.Arg(0)), 10, 64)
	if err != nil || id <= 0 {
		return &usageError{fmt.Sprintf("apikey revoke: %q is not a key ID (see 'nurture apikey list')", fs.Arg(0))}
	}
	db, err := c.openForAPIKeys(ctx, &cfg, s)
	if err != nil {
		return err
	}
	defer db.Close()
	k, err := apikey.RevokeByID(ctx, db.Pool, id)
	switch {
	case errors.Is(err, apikey.ErrNotFound):
		return fmt.Errorf("no API key has ID %d (see 'nurture apikey list')", id)
	case errors.Is(err, apikey.ErrRevoked):
		fmt.Fprintf(c.stdout, "API key %d %q was revoked already, at %s\n", k.ID, k.Name, k.RevokedAt.Local().Format(time.DateTime))
		return nil
	case err != nil:
		return err
	}
	fmt.Fprintf(c.stdout, "revoked API key %d %q\n", k.ID, k.Name)
	return nil
}

func (c *cli) openForAPIKeys(ctx context.Context, cfg *Config, s *settings) (*database, error) {
	if err := cfg.validate(s); err != nil {
		return nil, err
	}
	return openDatabase(ctx, cfg, c.logger(cfg))
}
