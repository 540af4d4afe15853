package provider

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/pecsdk/pec/pec"
	"github.com/pecsdk/pec/provider/spool"
)

// destination is one SMTP transaction of a dispatch: the recipients that go
// to one provider, or to one ordinary domain (PEC.md §11.4).
type destination struct {
	key    string   // "local", "pec:<provider>", "mx:<domain>"
	domain string   // the domain routed to
	rcpts  []string // forward-paths
}

// destinations groups rcpts: the provider's own domains, each other PEC
// provider of the index, each ordinary domain.
func (p *Provider) destinations(rcpts []string) []destination {
	var out []destination
	at := map[string]int{}
	for _, r := range rcpts {
		d := domainOf(r)
		key := "mx:" + d
		switch {
		case p.ours(r):
			key = "local"
		default:
			if e, ok := p.cfg.Index.Domain(d); ok {
				key = "pec:" + strings.ToLower(e.Name)
			}
		}
		i, ok := at[key]
		if !ok {
			i = len(out)
			at[key] = i
			out = append(out, destination{key: key, domain: d})
		}
		out[i].rcpts = append(out[i].rcpts, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].key < out[j].key })
	return out
}

// outgoing is a message to send: its reverse-path, forward-paths and bytes,
// and what the trace records of it.
type outgoing struct {
	Kind  pec.Kind `json:"kind"`
	From  string   `json:"from"`
	To    []string `json:"to"`
	Msg   []byte   `json:"msg"`
	Data  []byte   `json:"data,omitempty"` // daticert.xml of the message, for the trace
	Virus string   `json:"virus,omitempty"`
}

// dispatch sends msg from the reverse-path from to rcpts; see send.
func (w *work) dispatch(ctx context.Context, step, from string, rcpts []string, msg []byte) error {
	return w.send(ctx, step, []outgoing{{From: from, To: rcpts, Msg: msg}})
}

// send sends each message to its recipients, one SMTP transaction per
// message and destination (PEC.md §11.4), the messages of one destination
// one after the other on one connection; each destination is recorded as
// step ">" key once all its transactions are made. The provider's own
// domains are reached through its own incoming point (a spool item of the
// incoming role, verified as anything else, PEC.md §11.5), other PEC
// providers with STARTTLS required, ordinary domains with ordinary SMTP. It
// returns errLater when a destination is to be tried again; a permanent
// failure, or one that lasts beyond GiveUpAfter, is logged and not retried.
func (w *work) send(ctx context.Context, step string, outs []outgoing) error {
	p := w.p
	type part struct {
		out   int
		rcpts []string
	}
	var keys []string
	dest := map[string]destination{}
	parts := map[string][]part{}
	for i, o := range outs {
		for _, d := range p.destinations(o.To) {
			if _, ok := dest[d.key]; !ok {
				keys = append(keys, d.key)
				dest[d.key] = d
			}
			parts[d.key] = append(parts[d.key], part{i, d.rcpts})
		}
	}
	sort.Strings(keys)
	var later bool
	for _, key := range keys {
		s := step + ">" + key
		if w.done(s) {
			continue
		}
		var err error
		for _, pt := range parts[key] {
			o := outs[pt.out]
			if key == "local" {
				id := itemID("i", w.st.Item.ID, s, strconv.Itoa(pt.out))
				err = p.cfg.Spool.Put(ctx, &spool.Item{ID: id, Role: spool.RoleIncoming, From: o.From, To: pt.rcpts, Peer: "local", Helo: p.cfg.Hostname}, bytes.NewReader(o.Msg))
				if errors.Is(err, spool.ErrExists) {
					err = nil
				}
				if err == nil {
					defer p.kick(id)
				}
			} else {
				err = p.relay(ctx, dest[key].domain, strings.HasPrefix(key, "pec:"), o.From, pt.rcpts, o.Msg)
			}
			if err != nil {
				break
			}
		}
		if err == nil {
			if err := w.mark(ctx, s); err != nil {
				return err
			}
			continue
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if permanent(err) || w.now.Sub(w.st.Item.Received) >= p.cfg.GiveUpAfter {
			p.cfg.Logger.Warn("relay given up", "id", w.st.Item.ID, "step", s, "err", err)
			if err := p.cfg.Spool.Done(ctx, w.st.Item.ID, s, strings.NewReader("failed: "+err.Error())); err != nil {
				return err
			}
			w.st.Steps = append(w.st.Steps, s)
			continue
		}
		p.cfg.Logger.Info("relay deferred", "id", w.st.Item.ID, "step", s, "err", err)
		p.retry(ctx, w.st, s, err)
		later = true
	}
	if later {
		return errLater
	}
	return nil
}

func permanent(err error) bool {
	var re *RelayError
	if errors.As(err, &re) && re.Permanent {
		return true
	}
	var ro *RouteError
	return errors.As(err, &ro) && ro.Permanent
}

// relay makes one SMTP transaction toward domain's incoming server, trying
// each address the Router gives in turn.
func (p *Provider) relay(ctx context.Context, domain string, requireTLS bool, from string, rcpts []string, msg []byte) error {
	addrs, err := p.cfg.Router.Route(ctx, domain)
	if err != nil {
		return err
	}
	var errs []error
	for _, a := range addrs {
		err := p.sendTo(ctx, a, requireTLS, from, rcpts, msg)
		if err == nil {
			return nil
		}
		errs = append(errs, err)
		if permanent(err) || ctx.Err() != nil {
			return err
		}
	}
	if len(errs) == 0 {
		return &RouteError{Domain: domain, Err: errors.New("no address")}
	}
	return errors.Join(errs...)
}

// sendTo makes the SMTP transaction with the server at addr, on a
// connection kept from an earlier transaction when there is one (see
// pool.go), else on a new one.
func (p *Provider) sendTo(ctx context.Context, addr string, requireTLS bool, from string, rcpts []string, msg []byte) error {
	fail := func(err error) error {
		var se *smtp.SMTPError
		perm := errors.As(err, &se) && se.Code >= 500
		return &RelayError{Addr: addr, Permanent: perm, Err: err}
	}
	key := poolKey{addr, requireTLS}
	for {
		pc, reused := p.pool.get(key)
		if pc == nil {
			var err error
			if pc, err = p.dial(ctx, addr, requireTLS); err != nil {
				return fail(err)
			}
		}
		stop := context.AfterFunc(ctx, func() { pc.conn.Close() })
		err := pc.c.SendMail(from, rcpts, bytes.NewReader(msg))
		if !stop() {
			err = errors.Join(err, ctx.Err())
		}
		if err == nil {
			p.pool.put(key, pc, time.Now())
			return nil
		}
		pc.c.Close()
		var se *smtp.SMTPError
		if reused && !errors.As(err, &se) && ctx.Err() == nil {
			continue // the server closed the kept connection: once more on a new one
		}
		return fail(err)
	}
}

// dial connects to addr and says EHLO. Toward a PEC provider STARTTLS is
// required and the server's certificate verified with OutboundTLS (PEC.md
// §11.6); toward ordinary mail servers STARTTLS is used when offered,
// unverified (opportunistic, RFC 7435), else plaintext.
func (p *Provider) dial(ctx context.Context, addr string, requireTLS bool) (*pooledConn, error) {
	host, _, _ := net.SplitHostPort(addr)
	tc := &tls.Config{}
	if p.cfg.OutboundTLS != nil {
		tc = p.cfg.OutboundTLS.Clone()
	}
	tc.ServerName = host
	if !requireTLS {
		tc.InsecureSkipVerify = true // opportunistic TLS toward ordinary mail
	}
	connect := func() (net.Conn, func() bool, error) {
		d := net.Dialer{Timeout: p.cfg.CommandTimeout}
		conn, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			return nil, nil, err
		}
		return conn, context.AfterFunc(ctx, func() { conn.Close() }), nil
	}
	conn, stop, err := connect()
	if err != nil {
		return nil, err
	}
	c, err := smtp.NewClientStartTLS(conn, tc)
	stop()
	if err != nil {
		conn.Close()
		if !strings.Contains(err.Error(), "STARTTLS") {
			return nil, err
		}
		if requireTLS {
			return nil, fmt.Errorf("%w: %v", ErrNoTLS, err)
		}
		if conn, stop, err = connect(); err != nil {
			return nil, err
		}
		stop()
		c = smtp.NewClient(conn)
	}
	c.CommandTimeout = p.cfg.CommandTimeout
	c.SubmissionTimeout = 2 * p.cfg.CommandTimeout
	return &pooledConn{c: c, conn: conn}, nil
}
