// Package mailtest runs a real SMTP server in the test process (emersion/go-smtp), as
// net/http/httptest does for HTTP: it keeps what it receives and can be told to refuse
// recipients with any reply code.
package mailtest

import (
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// Message is one message the server accepted.
type Message struct {
	From string
	To   []string
	Data []byte
}

// Server is a running SMTP server.
type Server struct {
	// Addr is host:port.
	Addr string

	srv   *smtp.Server
	ln    net.Listener
	mu    sync.Mutex
	msgs  []Message
	n     int
	conns int
	keep  bool
	rcpt  func(to string) error
	data  func(Message) error
}

// Option changes how a server behaves.
type Option func(*Server)

// IdleTimeout makes the server drop a connection idle this long, as real servers do.
func IdleTimeout(d time.Duration) Option {
	return func(s *Server) { s.srv.ReadTimeout = d }
}

// CountOnly makes the server count the messages it accepts and keep none, for
// benchmarks: Messages returns nothing.
func CountOnly() Option {
	return func(s *Server) { s.keep = false }
}

// NewServer starts a server on a free loopback port, closed when the test ends.
func NewServer(t testing.TB, opts ...Option) *Server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return Serve(t, ln, opts...)
}

// Serve runs a server on ln, closed when the test ends.
func Serve(t testing.TB, ln net.Listener, opts ...Option) *Server {
	t.Helper()
	s := &Server{Addr: ln.Addr().String(), ln: ln, keep: true}
	s.srv = smtp.NewServer(backend{s})
	s.srv.Domain = "mailtest.localhost"
	s.srv.AllowInsecureAuth = true
	s.srv.ReadTimeout = 30 * time.Second
	s.srv.WriteTimeout = 30 * time.Second
	s.srv.MaxRecipients = 100
	// RFC 5322: a line is at most 998 characters and CRLF; go-smtp counts the LF of
	// the line before.
	s.srv.MaxLineLength = 1000
	for _, o := range opts {
		o(s)
	}
	go func() { _ = s.srv.Serve(ln) }()
	t.Cleanup(func() { _ = s.srv.Close() })
	return s
}

// URL is the server's NURTURE_SMTP_URL.
func (s *Server) URL() string { return "smtp://" + s.Addr + "?tls=none" }

// OnRcpt sets a hook that may refuse a recipient: return a *smtp.SMTPError (see
// Reply) to answer with its code.
func (s *Server) OnRcpt(f func(to string) error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rcpt = f
}

// OnData sets a hook that sees each message before the server answers its DATA, as
// a receiving server's link scanner may; an error refuses the message.
func (s *Server) OnData(f func(Message) error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.data = f
}

// Reply is an SMTP reply to refuse with, e.g. Reply(550, "5.1.1 no such user").
func Reply(code int, msg string) error {
	e := &smtp.SMTPError{Code: code, Message: msg}
	var a, b, c int
	if n, _ := fmt.Sscanf(msg, "%d.%d.%d", &a, &b, &c); n == 3 {
		e.EnhancedCode = smtp.EnhancedCode{a, b, c}
		e.Message = strings.TrimSpace(msg[strings.IndexByte(msg, ' ')+1:])
	}
	return e
}

// Messages returns what the server accepted so far.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.msgs...)
}

// Count is how many messages the server has accepted.
func (s *Server) Count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n
}

// Wait waits until the server has accepted n messages and returns them.
func (s *Server) Wait(t testing.TB, n int, timeout time.Duration) []Message {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if s.Count() >= n {
			return s.Messages()
		}
		if time.Now().After(deadline) {
			t.Fatalf("mailtest: %d messages after %s, want %d", s.Count(), timeout, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

type backend struct{ s *Server }

func (b backend) NewSession(*smtp.Conn) (smtp.Session, error) {
	b.s.mu.Lock()
	b.s.conns++
	b.s.mu.Unlock()
	return &session{s: b.s}, nil
}

// Conns is how many connections the server has accepted.
func (s *Server) Conns() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conns
}

type session struct {
	s    *Server
	from string
	to   []string
}

func (x *session) Reset()        { x.from, x.to = "", nil }
func (x *session) Logout() error { return nil }

func (x *session) Mail(from string, _ *smtp.MailOptions) error {
	x.from = from
	return nil
}

func (x *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	x.s.mu.Lock()
	hook := x.s.rcpt
	x.s.mu.Unlock()
	if hook != nil {
		if err := hook(to); err != nil {
			return err
		}
	}
	x.to = append(x.to, to)
	return nil
}

func (x *session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if len(x.to) == 0 {
		return errors.New("no recipients")
	}
	m := Message{From: x.from, To: x.to, Data: b}
	x.s.mu.Lock()
	hook := x.s.data
	x.s.mu.Unlock()
	if hook != nil {
		if err := hook(m); err != nil {
			return err
		}
	}
	x.s.mu.Lock()
	x.s.n++
	if x.s.keep {
		x.s.msgs = append(x.s.msgs, m)
	}
	x.s.mu.Unlock()
	return nil
}
