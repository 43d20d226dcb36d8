package main

import (
	"context"
	"fmt"

	"github.com/nurture-dev/nurture/engine/message"
)

func (c *cli) check(_ context.Context, args []string) error {
	var cfg Config
	fs := c.flagSet("check", "check [dir...]",
		`Checks marketer files and reports every problem at once with file:line:column.
Each dir is a templates folder; with none, NURTURE_TEMPLATES_DIR is checked. Exits 1
if anything is wrong.`)
	s := newSettings(&cfg)
	s.register(fs, c.getenv, []string{"NURTURE_TEMPLATES_DIR"})
	if err := parse(fs, args); err != nil {
		return err
	}
	dirs := fs.Args()
	if len(dirs) == 0 {
		dirs = []string{cfg.TemplatesDir}
	}
	problems := 0
	for _, dir := range dirs {
		set, err := message.Load(dir)
		if set == nil {
			return err
		}
		errs := unjoin(err)
		for _, e := range errs {
			fmt.Fprintln(c.stdout, e)
		}
		problems += len(errs)
		fmt.Fprintf(c.stdout, "%s: %d templates good, %d problems\n", dir, len(set.Names()), len(errs))
	}
	if problems > 0 {
		return errRejected
	}
	return nil
}
