package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/riverqueue/river"

	"github.com/nurture-dev/nurture/engine/apikey"
	"github.com/nurture-dev/nurture/engine/flow"
	"github.com/nurture-dev/nurture/engine/mail"
	"github.com/nurture-dev/nurture/engine/queue"
	"github.com/nurture-dev/nurture/engine/sales"
	"github.com/nurture-dev/nurture/engine/score"
	"github.com/nurture-dev/nurture/web"
)

// Shutdown budgets: requests in flight get this long to finish, then running jobs.
const (
	httpShutdownTimeout = 10 * time.Second
	jobShutdownTimeout  = 30 * time.Second
)

func (c *cli) serve(ctx context.Context, args []string) error {
	var cfg Config
	fs := c.flagSet("serve", "serve [flags]", "Runs nurture: the JSON API, tracking and unsubscribe pages, the console and the\njob workers. With no database URL it starts a private PostgreSQL under the data dir.\nStops cleanly on SIGINT or SIGTERM.")
	s := newSettings(&cfg)
	s.register(fs, c.getenv, nil)
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return &usageError{fmt.Sprintf("serve takes no arguments, got %q", fs.Args())}
	}
	if err := cfg.validate(s); err != nil {
		return err
	}
	proxies, err := web.ParseCIDRs(cfg.TrustedProxies)
	if err != nil {
		return fmt.Errorf("NURTURE_TRUSTED_PROXIES: %w", err)
	}
	log := c.logger(&cfg)
	log.Info("starting nurture", "version", versionString(), "role", cfg.Role)

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
	if cfg.APIKey != "" {
		switch err := apikey.Ensure(ctx, db.Pool, apikey.BootstrapName, cfg.APIKey); {
		case errors.Is(err, apikey.ErrRevoked):
			log.Warn("NURTURE_API_KEY was revoked and stays revoked: give it a new value to replace it", "name", apikey.BootstrapName)
		case err != nil:
			return err
		default:
			log.Info("bootstrap API key set from NURTURE_API_KEY", "name", apikey.BootstrapName)
		}
	}

	working := queue.Works(cfg.Role)
	// SIGHUP reloads the templates and the scenarios (a web-only process runs none).
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	log.Info("frequency cap on marketing mail per lead", "cap", cfg.FrequencyCap.String())
	secret, err := cfg.secret()
	if err != nil {
		return err
	}
	scorer := score.NewScorer(log)
	handoff, err := sales.New(sales.Config{Pool: db.Pool, Mailer: mg.mailer, Secret: secret, BaseURL: cfg.BaseURL,
		Model: scorer.Model, WebhookURL: cfg.SalesWebhookURL, WebhookSecret: cfg.SalesWebhookSecret, Logger: log,
		DigestSchedule: cfg.SalesDigest})
	if err != nil {
		return err
	}
	engine := flow.New(flow.Config{Pool: db.Pool, Mailer: mg.mailer, ScenariosDir: cfg.ScenariosDir,
		Templates: mg.Templates, Settle: cfg.ClickSettle, WatchInterval: cfg.WatchInterval, Logger: log, Scorer: scorer, OnEscalation: handoff.Escalated})
	workers := queue.NewWorkers()
	river.AddWorker(workers, &mail.SendWorker{Mailer: mg.mailer, Pool: db.Pool})
	engine.AddWorkers(workers)
	handoff.AddWorkers(workers)
	client, err := queue.New(db.Pool, workers, queue.Config{Role: cfg.Role, Logger: log, RescueAfter: cfg.JobRescue,
		PeriodicJobs: append(engine.PeriodicJobs(), handoff.PeriodicJobs()...)})
	if err != nil {
		return err
	}
	if working {
		// A file with problems is refused and logged; the others run.
		_ = engine.Load(ctx)
		if err := client.Start(ctx); err != nil {
			return fmt.Errorf("start job workers: %w", err)
		}
		engineCtx, stopEngine := context.WithCancel(context.WithoutCancel(ctx))
		engineDone := make(chan struct{})
		go func() {
			defer close(engineDone)
			if err := engine.Run(engineCtx, client); err != nil {
				log.Error("scenario engine stopped", "error", err)
			}
		}()
		go mg.watchTemplates(engineCtx, cfg.WatchInterval)
		go func() {
			for {
				select {
				case <-engineCtx.Done():
					return
				case <-hup:
					log.Info("SIGHUP: reloading templates and scenarios", "templates", cfg.TemplatesDir, "scenarios", cfg.ScenariosDir)
					_ = mg.reloadTemplates() // problems are logged
					_ = engine.Load(engineCtx)
				}
			}
		}()
		defer func() {
			stopEngine()
			<-engineDone
		}()
		defer func() {
			stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), jobShutdownTimeout)
			defer cancel()
			if err := client.Stop(stopCtx); err != nil {
				log.Warn("jobs did not finish in time; they will be retried", "error", err)
				_ = client.StopAndCancel(context.WithoutCancel(ctx))
			}
			log.Info("job workers stopped")
		}()
	}

	recorder := mg.mailer.NewHitRecorder(db.Pool, 1)
	defer recorder.Close() // after the HTTP server: the hits it took in are recorded
	srv := web.New(web.Config{TrustedProxies: proxies, SecureCookies: strings.HasPrefix(cfg.BaseURL, "https://")}, web.Deps{
		Pool: db.Pool, Queue: client, Working: working, Logger: log, Mailer: mg.mailer, Signer: mg.signer,
		Recorder: recorder, Scorer: engine.Scorer(), Sales: handoff,
	})
	ln, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("NURTURE_HTTP_ADDR: %w", err)
	}
	addr := ln.Addr().String()
	log.Info("listening", "addr", addr, "base_url", cfg.BaseURL, "health", "http://"+addr+"/healthz")
	if c.onListen != nil {
		c.onListen(addr)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	select {
	case err = <-served:
		return fmt.Errorf("http server: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down")
	shutCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), httpShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutCtx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		log.Warn("http shutdown", "error", err)
	}
	return nil
}
