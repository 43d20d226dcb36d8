package main

import (
	"context"
	"fmt"

	"github.com/nurture-dev/nurture/engine/schema"
)

func (c *cli) migrate(ctx context.Context, args []string) error {
	var cfg Config
	fs := c.flagSet("migrate", "migrate [flags]", "Brings the database schema (River's and nurture's) up to date. 'serve' does this\nat start-up too; run it alone to migrate before rolling out new processes.")
	s := newSettings(&cfg)
	s.register(fs, c.getenv, databaseSettings)
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := cfg.validate(s); err != nil {
		return err
	}
	log := c.logger(&cfg)
	db, err := openDatabase(ctx, &cfg, log)
	if err != nil {
		return err
	}
	defer db.Close()
	current, latest, err := schema.Version(ctx, db.Pool)
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "schema at version %d of %d\n", current, latest)
	return nil
}
