// go-smtp-driver: a scenario's client section made with Go's net/smtp (standard library only),
// for the smtpkit matrix (harness/drivers/external/go_smtp.py builds and runs it; issue 18).
//
// stdin: one JSON object {"transport", "host", "port", "path", "cafile", "timeout",
// "local_hostname", "message", "calls": [{"name", "args", "kwargs"}]} (the calls as
// `smtp-fakeserver dump --lines` gives them). stdout: one JSON object {"local", "trace",
// "result"}, result being {"ok": true, "reply": [code, ""], "refused": {addr: [code, text]}} or
// {"ok": false, "call", "stage", "kind", "code", "message"} or {"unsupported": reason}. The
// Python side maps kind + stage to the seed's exception classes.
//
// net/smtp returns no reply on success: each method checks one expected code (Quit 221, Noop 250,
// StartTLS 220, ...), so a successful call's reply is that code with no text.
package main

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/smtp"
	"net/textproto"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

type call struct {
	Name   string            `json:"name"`
	Args   []string          `json:"args"`
	Kwargs map[string]string `json:"kwargs"`
}

type input struct {
	Transport     string  `json:"transport"`
	Host          string  `json:"host"`
	Port          int     `json:"port"`
	Path          string  `json:"path"`
	CAFile        string  `json:"cafile"`
	Timeout       float64 `json:"timeout"`
	LocalHostname string  `json:"local_hostname"`
	Message       string  `json:"message"`
	Calls         []call  `json:"calls"`
}

type failure struct {
	stage string
	err   error
}

func (f *failure) Error() string { return f.err.Error() }

type notSupported struct{ what string }

func (n *notSupported) Error() string { return n.what }

type xoauth2 struct{ user, token string }

func (a *xoauth2) Start(*smtp.ServerInfo) (string, []byte, error) {
	return "XOAUTH2", []byte("user=" + a.user + "\x01auth=Bearer " + a.token + "\x01\x01"), nil
}

func (a *xoauth2) Next(_ []byte, more bool) ([]byte, error) {
	if more {
		return []byte{}, nil
	}
	return nil, nil
}

var trace []string

// wire logs what net/smtp writes and reads, line by line, as long as it is plaintext (over
// implicit TLS it sits above the TLS connection; after STARTTLS it stops: net/smtp puts the
// TLS layer below it). lastCmd is the verb of the last command it saw.
type wire struct {
	net.Conn
	stopped, starttls bool
	lastCmd        string
	lastCode       int
	lastMsg        string
	readErr        error
}

func (w *wire) Write(p []byte) (int, error) {
	if !w.stopped {
		for _, l := range strings.Split(strings.TrimRight(string(p), "\r\n"), "\r\n") {
			logf("> %s", l)
		}
		verb := strings.ToUpper(strings.Fields(string(p) + " x")[0])
		w.lastCmd = verb
		if verb == "STARTTLS" {
			w.starttls = true
		}
	}
	return w.Conn.Write(p)
}

func (w *wire) Read(p []byte) (int, error) {
	n, err := w.Conn.Read(p)
	if err != nil {
		w.readErr = err
	}
	if !w.stopped && n > 0 {
		for _, l := range strings.Split(strings.TrimRight(string(p[:n]), "\r\n"), "\r\n") {
			logf("< %s", l)
			if len(l) >= 4 && l[3] == ' ' {
				if code, e := strconv.Atoi(l[:3]); e == nil {
					w.lastCode, w.lastMsg = code, l[4:]
				}
			}
		}
		if w.starttls {
			w.stopped = true
			logf("(TLS from here: not logged)")
		}
	}
	return n, err
}

var wireLog *wire

func logf(format string, args ...any) { trace = append(trace, fmt.Sprintf(format, args...)) }

func classify(err error) (kind string, code int, msg string) {
	msg = err.Error()
	var tp *textproto.Error
	var perr textproto.ProtocolError
	var nerr net.Error
	var ns *notSupported
	var unknownCA x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var invalid x509.CertificateInvalidError
	var alert tls.RecordHeaderError
	switch {
	case errors.As(err, &ns):
		return "not-supported", 0, msg
	case errors.As(err, &tp):
		return "reply", tp.Code, tp.Msg
	case errors.As(err, &unknownCA), errors.As(err, &hostErr), errors.As(err, &invalid):
		return "cert", 0, msg
	case errors.As(err, &alert):
		return "tls", 0, msg
	case errors.As(err, &perr):
		return "protocol", 0, msg
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connect", 0, msg
	case errors.As(err, &nerr) && nerr.Timeout():
		return "timeout", 0, msg
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.EPIPE), errors.Is(err, net.ErrClosed):
		return "disconnected", 0, msg
	case strings.Contains(msg, "tls:"):
		return "tls", 0, msg
	}
	return "other", 0, msg
}

func main() {
	var in input
	out := map[string]any{}
	if err := json.NewDecoder(os.Stdin).Decode(&in); err != nil {
		fmt.Fprintln(os.Stderr, "bad input:", err)
		os.Exit(2)
	}
	result := run(&in, out)
	out["result"] = result
	out["trace"] = trace
	json.NewEncoder(os.Stdout).Encode(out)
}

func run(in *input, out map[string]any) map[string]any {
	timeout := time.Duration(in.Timeout * float64(time.Second))
	host := in.Host
	if in.Transport == "unix" {
		host = "localhost"
	}
	roots := x509.NewCertPool()
	if pem, err := os.ReadFile(in.CAFile); err == nil {
		roots.AppendCertsFromPEM(pem)
	}
	tlsConfig := &tls.Config{RootCAs: roots, ServerName: host}
	var conn net.Conn
	var err error
	dialer := &net.Dialer{Timeout: timeout}
	switch in.Transport {
	case "unix":
		conn, err = dialer.Dial("unix", in.Path)
	default:
		conn, err = dialer.Dial("tcp", net.JoinHostPort(in.Host, strconv.Itoa(in.Port)))
	}
	if err != nil {
		return fail("connect", "connect", err)
	}
	raw := conn
	if in.Transport != "unix" {
		out["local"] = conn.LocalAddr().String()
	}
	deadline := func() { raw.SetDeadline(time.Now().Add(timeout)) }
	deadline()
	if in.Transport == "tls" {
		tc := tls.Client(conn, tlsConfig)
		if err := tc.Handshake(); err != nil {
			conn.Close()
			return fail("connect", "tls", err)
		}
		conn = tc
	}
	wireLog = &wire{Conn: conn}
	conn = wireLog
	logf("connected over %s", in.Transport)
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		conn.Close()
		return fail("connect", "greeting", err)
	}
	defer c.Close()
	if in.LocalHostname != "" {
		c.Hello(in.LocalHostname)
	}
	// Extension sends EHLO (HELO after a refusal) the first time and keeps its error to itself:
	// the next command returns it; fail() names the stage from the wire log.
	ensureHello := func() error { c.Extension("STARTTLS"); return nil }
	starttls := func() error {
		if ok, _ := c.Extension("STARTTLS"); !ok {
			return &failure{"starttls", &notSupported{"STARTTLS extension not supported by server"}}
		}
		if err := c.StartTLS(tlsConfig); err != nil {
			return &failure{"starttls", err}
		}
		return nil
	}
	if in.Transport == "starttls" {
		if err := starttls(); err != nil {
			f := err.(*failure)
			return fail("starttls", f.stage, f.err)
		}
	}
	var reply []any
	refused := map[string][]any{}
	for _, cl := range in.Calls {
		deadline()
		logf("call %s %v", cl.Name, cl.Args)
		var err error
		stage := cl.Name
		code := 250
		switch cl.Name {
		case "ehlo", "ehlo_or_helo_if_needed":
			if len(cl.Args) > 0 {
				if e := c.Hello(cl.Args[0]); e != nil {
					return map[string]any{"unsupported": "net/smtp sends EHLO once, before any other command (Hello after it is refused)"}
				}
			}
			stage = "helo"
			err = ensureHello()
			// net/smtp keeps EHLO's (and HELO's) failure until the next command; the section
			// asked for EHLO alone, so the wire says how it went.
			if wireLog.readErr != nil && wireLog.lastCmd != "QUIT" {
				err = wireLog.readErr
			} else if wireLog.lastCode >= 400 && (wireLog.lastCmd == "EHLO" || wireLog.lastCmd == "HELO") {
				err = &textproto.Error{Code: wireLog.lastCode, Msg: wireLog.lastMsg}
			}
		case "starttls":
			if e := starttls(); e != nil {
				f := e.(*failure)
				stage, err = f.stage, f.err
			}
			code = 220
		case "login", "login_oauth2":
			if len(cl.Args) < 2 || len(cl.Kwargs) > 0 {
				return map[string]any{"unsupported": "login with keyword arguments"}
			}
			if err = ensureHello(); err != nil {
				stage = "helo"
				break
			}
			stage = "auth"
			if ok, _ := c.Extension("AUTH"); !ok {
				err = &notSupported{"SMTP AUTH extension not supported by server"}
				break
			}
			var a smtp.Auth
			// net/smtp has PLAIN and CRAM-MD5 (no LOGIN): the one the server offers, PLAIN first.
			_, offered := c.Extension("AUTH")
			if cl.Name == "login" && !strings.Contains(" "+strings.ToUpper(offered)+" ", " PLAIN ") &&
				strings.Contains(strings.ToUpper(offered), "CRAM-MD5") {
				a = smtp.CRAMMD5Auth(cl.Args[0], cl.Args[1])
			} else if cl.Name == "login" {
				a = smtp.PlainAuth("", cl.Args[0], cl.Args[1], host)
			} else {
				a = &xoauth2{cl.Args[0], cl.Args[1]}
			}
			err = c.Auth(a)
			code = 235
		case "sendmail":
			if len(cl.Kwargs) > 0 {
				return map[string]any{"unsupported": "net/smtp's Mail and Rcpt take no ESMTP parameters (mail_options / rcpt_options)"}
			}
			if err = c.Mail(cl.Args[0]); err != nil {
				stage = "mail"
				break
			}
			to := strings.Split(cl.Args[1], ",")
			accepted := 0
			for _, r := range to {
				deadline()
				if e := c.Rcpt(r); e != nil {
					var tp *textproto.Error
					if errors.As(e, &tp) {
						refused[r] = []any{tp.Code, tp.Msg}
						continue
					}
					err, stage = e, "rcpt"
					break
				}
				accepted++
			}
			if err != nil {
				break
			}
			if accepted == 0 {
				return map[string]any{"ok": false, "call": cl.Name, "stage": "rcpt", "kind": "all-refused",
					"code": nil, "message": "every recipient refused", "refused": refused}
			}
			err, stage = data(c, in.Message, deadline)
		case "mail":
			err = c.Mail(cl.Args[0])
		case "rcpt":
			err = c.Rcpt(cl.Args[0])
		case "data":
			err, stage = data(c, in.Message, deadline)
		case "noop":
			err = c.Noop()
		case "rset":
			err = c.Reset()
		case "verify":
			err = c.Verify(cl.Args[0])
		case "has_extn":
			if err = ensureHello(); err == nil {
				c.Extension(cl.Args[0])
				continue
			}
			stage = "helo"
		case "quit":
			err = c.Quit()
			code = 221
		case "close":
			err = c.Close()
			code = 0
		default:
			return map[string]any{"unsupported": "net/smtp has no " + cl.Name + " (its Client: Hello, StartTLS, Auth, Mail, Rcpt, Data, Reset, Noop, Verify, Extension, Quit, Close)"}
		}
		if err != nil {
			var f *failure
			if errors.As(err, &f) {
				stage, err = f.stage, f.err
			}
			r := fail(cl.Name, stage, err)
			r["refused"] = refused
			return r
		}
		if code != 0 {
			reply = []any{code, ""}
		}
	}
	return map[string]any{"ok": true, "reply": reply, "refused": refused}
}

func data(c *smtp.Client, message string, deadline func()) (error, string) {
	w, err := c.Data()
	if err != nil {
		return err, "data"
	}
	deadline()
	if _, err := io.WriteString(w, message); err != nil {
		return err, "body"
	}
	if err := w.Close(); err != nil {
		return err, "body"
	}
	return nil, "body"
}

func fail(call, stage string, err error) map[string]any {
	kind, code, msg := classify(err)
	if kind == "reply" && wireLog != nil && (wireLog.lastCmd == "EHLO" || wireLog.lastCmd == "HELO") {
		stage = "helo"
	}
	var c any
	if code != 0 {
		c = code
	}
	logf("error in %s (%s): %s", call, stage, msg)
	return map[string]any{"ok": false, "call": call, "stage": stage, "kind": kind, "code": c, "message": msg}
}
