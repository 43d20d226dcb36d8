package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/nurture-dev/nurture/engine/lead"
	"github.com/nurture-dev/nurture/engine/mail"
	"github.com/nurture-dev/nurture/engine/queue"
)

func (c *cli) send(ctx context.Context, args []string) error {
	var cfg Config
	fs := c.flagSet("send", "send --template NAME --to EMAIL [flags]",
		`Sends one message to one address, a test send, through the same path as scenario
mail: a message row, a send job, rendering for the lead, tracking, suppression checks.
The address becomes a lead if it is not one. With no NURTURE_SMTP_URL the message is
kept in the outbox instead of sent.`)
	s := newSettings(&cfg)
	s.register(fs, c.getenv, append(append([]string{}, databaseSettings...), mailSettings...))
	template := fs.String("template", "", "template name, e.g. whitepaper/thanks")
	to := fs.String("to", "", "recipient address")
	wait := fs.Duration("wait", time.Minute, "how long to wait for the delivery")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *template == "" || *to == "" || fs.NArg() > 0 {
		return &usageError{"send needs --template and --to, and no arguments"}
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
	mg, err := openMailing(&cfg, log)
	if err != nil {
		return err
	}
	defer mg.Close()
	if !mg.Templates().Has(*template) {
		return fmt.Errorf("no template %q in %s (check it with: nurture check %s)", *template, cfg.TemplatesDir, cfg.TemplatesDir)
	}

	workers := queue.NewWorkers()
	river.AddWorker(workers, &mail.SendWorker{Mailer: mg.mailer, Pool: db.Pool})
	client, err := queue.New(db.Pool, workers, queue.Config{Role: queue.RoleWorker, Only: []string{queue.Send}, Logger: log})
	if err != nil {
		return err
	}
	if err := client.Start(ctx); err != nil {
		return err
	}
	defer func() {
		stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		_ = client.Stop(stopCtx)
	}()

	out, err := lead.Upsert(ctx, db.Pool, "send", []lead.Input{{Email: *to}})
	if err != nil {
		return err
	}
	purpose := "test:" + time.Now().UTC().Format("20060102T150405.000000000")
	var id int64
	err = pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		id, _, err = mg.mailer.Enqueue(ctx, tx, client, out[0].ID, *template, purpose)
		return err
	})
	if err != nil {
		return err
	}

	deadline := time.Now().Add(*wait)
	for {
		var status, errText, messageID string
		err := db.Pool.QueryRow(ctx, `SELECT status, error, message_id FROM messages WHERE id = $1`, id).Scan(&status, &errText, &messageID)
		if err != nil {
			return err
		}
		switch status {
		case mail.StatusSent:
			fmt.Fprintf(c.stdout, "sent %s to %s (message %d, Message-ID <%s>)\n", *template, *to, id, messageID)
			return nil
		case mail.StatusOutbox:
			fmt.Fprintf(c.stdout, "kept %s for %s in the outbox (message %d): NURTURE_SMTP_URL is empty, nothing left this machine\n", *template, *to, id)
			return nil
		case mail.StatusQueued:
			if time.Now().After(deadline) {
				if errText != "" {
					return fmt.Errorf("message %d not sent after %s; it will be retried: %s", id, *wait, errText)
				}
				return fmt.Errorf("message %d not sent after %s; it stays queued", id, *wait)
			}
			select {
			case <-ctx.Done():
				return errors.New("interrupted; the message stays queued")
			case <-time.After(50 * time.Millisecond):
			}
		default:
			return fmt.Errorf("message %d %s: %s", id, status, errText)
		}
	}
}
