package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	netmail "net/mail"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nurture-dev/nurture/engine/dirwatch"
	"github.com/nurture-dev/nurture/engine/mail"
	"github.com/nurture-dev/nurture/engine/message"
	"github.com/nurture-dev/nurture/engine/track"
)

// mailing is what sending mail needs: templates, the link signer and a transport.
type mailing struct {
	templates atomic.Pointer[message.Set] // swapped by reloadTemplates
	stampMu   sync.Mutex
	stamp     [32]byte // of the templates folder, taken before it was last read
	dir       string
	log       *slog.Logger
	signer    *track.Signer
	mailer    *mail.Mailer
	smtp      *mail.SMTPSender // nil in outbox mode
}

// mailSettings are the settings of the commands that send mail.
var mailSettings = []string{"NURTURE_BASE_URL", "NURTURE_SMTP_URL", "NURTURE_FROM", "NURTURE_SECRET",
	"NURTURE_TEMPLATES_DIR", "NURTURE_SMTP_POOL", "NURTURE_SEND_RATE", "NURTURE_DKIM_KEY",
	"NURTURE_DKIM_SELECTOR", "NURTURE_DKIM_DOMAIN"}

// openMailing loads the templates (a template with problems is left out, each problem
// logged with its file and line) and sets up delivery.
func openMailing(cfg *Config, log *slog.Logger) (*mailing, error) {
	secret, err := cfg.secret()
	if err != nil {
		return nil, err
	}
	signer, err := track.NewSigner(secret)
	if err != nil {
		return nil, fmt.Errorf("NURTURE_SECRET: %w", err)
	}
	stamp, _ := dirwatch.Stamp(cfg.TemplatesDir)
	set, err := message.Load(cfg.TemplatesDir)
	if set == nil {
		if _, statErr := os.Stat(cfg.TemplatesDir); !errors.Is(statErr, fs.ErrNotExist) {
			return nil, fmt.Errorf("NURTURE_TEMPLATES_DIR: %w", err)
		}
		log.Warn("no templates folder: nothing can be sent until there is one", "dir", cfg.TemplatesDir)
		err = nil
	}
	for _, problem := range unjoin(err) {
		log.Error("template left out", "problem", problem.Error())
	}
	if set != nil {
		log.Info("templates loaded", "dir", cfg.TemplatesDir, "count", len(set.Names()))
	}

	mg := &mailing{signer: signer, dir: cfg.TemplatesDir, log: log, stamp: stamp}
	mg.templates.Store(set)
	var sender mail.Sender
	if cfg.SMTPURL == "" {
		log.Warn("OUTBOX MODE: NURTURE_SMTP_URL is empty, so no mail leaves this machine; messages are kept in the outbox")
	} else {
		sc, err := mail.ParseSMTPURL(cfg.SMTPURL)
		if err != nil {
			return nil, fmt.Errorf("NURTURE_SMTP_URL: %w", err)
		}
		sc.PoolSize, sc.Rate = cfg.SMTPPool, cfg.SendRate
		if cfg.DKIMKey != "" {
			domain := cfg.DKIMDomain
			if domain == "" {
				a, _ := netmail.ParseAddress(cfg.From)
				if a != nil {
					domain = mail.Domain(a.Address)
				}
			}
			if sc.DKIM, err = mail.LoadDKIM(cfg.DKIMKey, domain, cfg.DKIMSelector); err != nil {
				return nil, fmt.Errorf("NURTURE_DKIM_KEY: %w", err)
			}
			log.Info("DKIM signing on", "domain", domain, "selector", cfg.DKIMSelector)
		}
		mg.smtp = mail.NewSMTPSender(sc)
		sender = mg.smtp
		log.Info("mail goes out through SMTP", "server", mg.smtp.Describe())
	}
	mg.mailer = mail.New(mail.Config{
		BaseURL: cfg.BaseURL, From: cfg.From, Templates: mg.Templates,
		Signer: signer, Sender: sender, Cap: cfg.FrequencyCap, Logger: log,
	})
	return mg, nil
}

// Templates is the current template set.
func (mg *mailing) Templates() *message.Set { return mg.templates.Load() }

// reloadTemplates reads the templates folder again. A folder with any problem is
// refused whole, each problem logged, and the set loaded before stays: a template
// that scenarios send must not vanish because of a typo.
func (mg *mailing) reloadTemplates() error {
	stamp, _ := dirwatch.Stamp(mg.dir)
	mg.stampMu.Lock()
	mg.stamp = stamp
	mg.stampMu.Unlock()
	set, err := message.Load(mg.dir)
	if err != nil {
		for _, problem := range unjoin(err) {
			mg.log.Error("templates refused; the set loaded before stays", "problem", problem.Error())
		}
		return err
	}
	mg.templates.Store(set)
	mg.log.Info("templates reloaded", "dir", mg.dir, "count", len(set.Names()))
	return nil
}

// watchTemplates reloads the templates when a file under the folder changes, checked
// every so often (see dirwatch.Watch). A folder refused with problems is read again
// only when it changes again.
func (mg *mailing) watchTemplates(ctx context.Context, every time.Duration) {
	loaded := func() [32]byte {
		mg.stampMu.Lock()
		defer mg.stampMu.Unlock()
		return mg.stamp
	}
	dirwatch.Watch(ctx, mg.dir, every, loaded, func() {
		mg.log.Info("templates folder changed; reloading", "dir", mg.dir)
		_ = mg.reloadTemplates() // problems are logged
	})
}

func (mg *mailing) Close() {
	if mg.smtp != nil {
		_ = mg.smtp.Close()
	}
}

// unjoin lists the errors of an errors.Join.
func unjoin(err error) []error {
	if err == nil {
		return nil
	}
	var j interface{ Unwrap() []error }
	if errors.As(err, &j) {
		return j.Unwrap()
	}
	return []error{err}
}
