package main

import (
	"context"
	"errors"
)

func (c *cli) importLeads(ctx context.Context, args []string) error {
	return errors.New("not yet")
}
