package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/nurture-dev/nurture/engine/queue"
	"github.com/nurture-dev/nurture/engine/sales"
	"github.com/nurture-dev/nurture/engine/session"
)

// userCommands are the subcommands of `nurture user`.
var userCommands = []struct{ name, synopsis, summary string }{
	{"add", "user add --email E --name N --role R [--manager E] [--territory EXPR] [--capacity N] [--password-stdin] [flags]", "add a user: admin, marketer or sales rep"},
	{"list", "user list [flags]", "list users: email, name, role, manager, territory, capacity, active or not"},
	{"disable", "user disable --email E [flags]", "stop a user: no log-in, no new leads; open hand-offs go to other reps"},
	{"passwd", "user passwd --email E --password-stdin [flags]", "set a user's console password and end the user's sessions"},
}

func (c *cli) user(ctx context.Context, args []string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(c.stderr, "Usage: nurture user <add|list|disable|passwd> [flags]\n\n"+
			"Manages the people who use nurture. Sales reps (role sales) are handed the leads\n"+
			"that scenarios or scoring escalate. Passwords are stored as argon2id hashes and\n"+
			"read from stdin only, never from a flag.\n\nSubcommands:\n")
		for _, sc := range userCommands {
			fmt.Fprintf(c.stderr, "  %-8s %s\n", sc.name, sc.summary)
		}
		if len(args) == 0 {
			return &usageError{"user needs a subcommand: add, list, disable or passwd"}
		}
		return flag.ErrHelp
	}
	switch args[0] {
	case "add":
		return c.userAdd(ctx, args[1:])
	case "list":
		return c.userList(ctx, args[1:])
	case "disable":
		return c.userDisable(ctx, args[1:])
	case "passwd":
		return c.userPasswd(ctx, args[1:])
	}
	return &usageError{fmt.Sprintf("unknown user subcommand %q: use add, list, disable or passwd", args[0])}
}

func (c *cli) userAdd(ctx context.Context, args []string) error {
	var cfg Config
	fs := c.flagSet("user add", userCommands[0].synopsis,
		`Adds a user. A sales rep's --territory is a condition over the lead, as in
scenarios (lead.country == "JP" && lead.employees >= 1000); --capacity is the most
leads the rep holds unaccepted at once (0: no limit). Without --password-stdin the
user has no password and cannot log in to the console; sales reps who only get
mail need none.`)
	s := newSettings(&cfg)
	s.register(fs, c.getenv, databaseSettings)
	var nu sales.NewUser
	fs.StringVar(&nu.Email, "email", "", "the user's email address (unique)")
	fs.StringVar(&nu.Name, "name", "", "the user's name, as alerts show it")
	fs.StringVar(&nu.Role, "role", "", "admin, marketer or sales")
	fs.StringVar(&nu.ManagerEmail, "manager", "", "email of the user's manager, told when a lead waits too long")
	fs.StringVar(&nu.Territory, "territory", "", "condition over the lead for the leads this rep gets first")
	fs.IntVar(&nu.Capacity, "capacity", 0, "most unaccepted leads the rep holds at once; 0 is no limit")
	passwordStdin := fs.Bool("password-stdin", false, "read the password from the first line of stdin")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return &usageError{fmt.Sprintf("user add takes no arguments, got %q", fs.Args())}
	}
	if nu.Email == "" || nu.Name == "" || nu.Role == "" {
		return &usageError{"user add needs --email, --name and --role"}
	}
	if *passwordStdin {
		var err error
		if nu.Password, err = c.readPassword(); err != nil {
			return err
		}
	}
	if err := cfg.validate(s); err != nil {
		return err
	}
	db, err := openDatabase(ctx, &cfg, c.logger(&cfg))
	if err != nil {
		return err
	}
	defer db.Close()
	u, err := sales.AddUser(ctx, db.Pool, nu)
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "added user %d %s (%s)\n", u.ID, u.Email, u.Role)
	return nil
}

// readPassword reads a new password from the first line of stdin.
func (c *cli) readPassword() (string, error) {
	line, err := bufio.NewReader(io.LimitReader(c.stdin, 4096)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read the password from stdin: %w", err)
	}
	password := strings.TrimRight(line, "\r\n")
	if sales.CheckNewPassword(password) != nil {
		return "", fmt.Errorf("the password on stdin must be at least %d characters", sales.MinPasswordLength)
	}
	return password, nil
}

func (c *cli) userPasswd(ctx context.Context, args []string) error {
	var cfg Config
	fs := c.flagSet("user passwd", userCommands[3].synopsis,
		`Sets a user's console password, read from the first line of stdin, and ends every
console session of the user, so that whoever held one must log in with the new
password.`)
	s := newSettings(&cfg)
	s.register(fs, c.getenv, databaseSettings)
	email := fs.String("email", "", "the user's email address")
	passwordStdin := fs.Bool("password-stdin", false, "read the password from the first line of stdin (required)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 || *email == "" || !*passwordStdin {
		return &usageError{"user passwd needs --email and --password-stdin, and takes no arguments"}
	}
	password, err := c.readPassword()
	if err != nil {
		return err
	}
	if err := cfg.validate(s); err != nil {
		return err
	}
	db, err := openDatabase(ctx, &cfg, c.logger(&cfg))
	if err != nil {
		return err
	}
	defer db.Close()
	var u *sales.User
	var ended int64
	err = pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		var err error
		if u, err = sales.FindUserByEmail(ctx, tx, *email); err != nil {
			return err
		}
		if err := sales.SetPassword(ctx, tx, u.ID, password); err != nil {
			return err
		}
		ended, err = session.EndOthers(ctx, tx, u.ID, nil)
		return err
	})
	if errors.Is(err, sales.ErrUserNotFound) {
		return fmt.Errorf("no user has the email %q (see 'nurture user list')", *email)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "set the password of user %d %s; ended %d console sessions\n", u.ID, u.Email, ended)
	return nil
}

func (c *cli) userList(ctx context.Context, args []string) error {
	var cfg Config
	fs := c.flagSet("user list", userCommands[1].synopsis, "Lists every user, disabled ones too, oldest first. Passwords are never shown.")
	s := newSettings(&cfg)
	s.register(fs, c.getenv, databaseSettings)
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return &usageError{fmt.Sprintf("user list takes no arguments, got %q", fs.Args())}
	}
	if err := cfg.validate(s); err != nil {
		return err
	}
	db, err := openDatabase(ctx, &cfg, c.logger(&cfg))
	if err != nil {
		return err
	}
	defer db.Close()
	users, err := sales.FindUsers(ctx, db.Pool)
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(c.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "ID\tEMAIL\tNAME\tROLE\tMANAGER\tTERRITORY\tCAPACITY\tLOGIN\tSTATUS")
	for _, u := range users {
		status := "active"
		if u.DisabledAt != nil {
			status = "disabled " + u.DisabledAt.Local().Format(time.DateTime)
		}
		login := "no"
		if u.HasPassword {
			login = "yes"
		}
		capacity := "-"
		if u.Capacity > 0 {
			capacity = fmt.Sprint(u.Capacity)
		}
		fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", u.ID, u.Email, u.Name, u.Role, dash(u.ManagerEmail),
			dash(u.Territory), capacity, login, status)
	}
	return w.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func (c *cli) userDisable(ctx context.Context, args []string) error {
	var cfg Config
	fs := c.flagSet("user disable", userCommands[2].synopsis,
		`Disables a user at once: no log-in and no new leads. Leads the rep was handed and
has not accepted yet are handed to other reps.`)
	s := newSettings(&cfg)
	s.register(fs, c.getenv, databaseSettings)
	email := fs.String("email", "", "the user's email address")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 || *email == "" {
		return &usageError{"user disable needs --email and takes no arguments"}
	}
	if err := cfg.validate(s); err != nil {
		return err
	}
	db, err := openDatabase(ctx, &cfg, c.logger(&cfg))
	if err != nil {
		return err
	}
	defer db.Close()
	// Insert-only: the hand-offs taken back are handed on by the server's workers.
	rc, err := queue.New(db.Pool, nil, queue.Config{Role: queue.RoleWeb, Logger: c.logger(&cfg)})
	if err != nil {
		return err
	}
	var u *sales.User
	var was bool
	var moved int
	err = pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		var err error
		if u, was, err = sales.DisableUser(ctx, tx, *email); err != nil {
			return err
		}
		moved, err = sales.ReleaseOpen(ctx, tx, rc, u.ID)
		return err
	})
	switch {
	case errors.Is(err, sales.ErrUserNotFound):
		return fmt.Errorf("no user has the email %q (see 'nurture user list')", *email)
	case err != nil:
		return err
	case !was:
		fmt.Fprintf(c.stdout, "user %s was disabled already\n", u.Email)
		return nil
	}
	fmt.Fprintf(c.stdout, "disabled user %d %s; %d unaccepted leads go to other reps\n", u.ID, u.Email, moved)
	return nil
}
