package index

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/go-ldap/ldap/v3"
)

// Defaults of the LDAP source.
const (
	defaultLDAPTimeout = time.Minute
	defaultPageSize    = 500
)

// ldapAttributes are the attributes read from provider entries (PEC.md
// §13.3); certificates are asked with the binary transfer option.
var ldapAttributes = []string{
	"objectClass", "providerName", "providerUnit", "mailReceipt", "managedDomains",
	"providerCertificateHash", "providerCertificate;binary", "LDIFLocationURL", "description",
}

// LDAP is the provider directory (PEC.md §13.1) as a Source: Load reads
// every provider entry under BaseDN in one paged search.
type LDAP struct {
	// URL is ldap://host[:port] or ldaps://host[:port].
	URL string
	// BaseDN is the root of the search; "" means o=postacert.
	BaseDN string
	// BindDN and Password authenticate with a simple bind; "" binds
	// anonymously.
	BindDN, Password string
	// TLSConfig configures ldaps:// (server name and roots); nil uses the
	// host of URL and the system roots.
	TLSConfig *tls.Config
	// PageSize is the number of entries per page (RFC 2696); 0 means 500.
	PageSize uint32
	// Timeout bounds a Load whose context has no deadline; 0 means one
	// minute.
	Timeout time.Duration
}

// Load connects, reads the tree and closes the connection. The context
// bounds every step: dial, TLS handshake, bind and search; when it ends,
// the connection is closed and Load returns an error wrapping
// ErrDirectory and the context's error.
func (l *LDAP) Load(ctx context.Context) (*Snapshot, error) {
	if _, ok := ctx.Deadline(); !ok {
		t := l.Timeout
		if t <= 0 {
			t = defaultLDAPTimeout
		}
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, t)
		defer cancel()
	}
	entries, err := l.search(ctx)
	if err != nil {
		if ce := ctx.Err(); ce != nil && !errors.Is(err, ce) {
			err = fmt.Errorf("%w (%v)", ce, err)
		}
		return nil, fmt.Errorf("%w: %s: %w", ErrDirectory, l.URL, err)
	}
	return fromEntries(entries)
}

func (l *LDAP) search(ctx context.Context) ([]*entry, error) {
	conn, err := l.dial(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	// Closing the connection ends whatever call waits on it.
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	if l.BindDN != "" {
		if err := conn.Bind(l.BindDN, l.Password); err != nil {
			return nil, fmt.Errorf("bind as %s: %w", l.BindDN, err)
		}
	}
	base := l.BaseDN
	if base == "" {
		base = BaseDN
	}
	timeLimit := 0
	if dl, ok := ctx.Deadline(); ok {
		timeLimit = int(time.Until(dl)/time.Second) + 1
	}
	req := ldap.NewSearchRequest(base, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, timeLimit, false,
		"(objectClass=provider)", ldapAttributes, nil)
	size := l.PageSize
	if size == 0 {
		size = defaultPageSize
	}
	res, err := conn.SearchWithPaging(req, size)
	if err != nil {
		return nil, fmt.Errorf("search %s: %w", base, err)
	}
	out := make([]*entry, 0, len(res.Entries))
	for _, le := range res.Entries {
		e := newEntry(le.DN, 0)
		for _, a := range le.Attributes {
			for _, v := range a.ByteValues {
				e.add(a.Name, v)
			}
		}
		out = append(out, e)
	}
	return out, nil
}

// dial connects with a dialer bounded by the context's deadline, and
// gives up as soon as the context ends.
func (l *LDAP) dial(ctx context.Context) (*ldap.Conn, error) {
	d := &net.Dialer{}
	if dl, ok := ctx.Deadline(); ok {
		d.Deadline = dl
	}
	opts := []ldap.DialOpt{ldap.DialWithDialer(d)}
	if l.TLSConfig != nil {
		opts = append(opts, ldap.DialWithTLSConfig(l.TLSConfig))
	}
	type result struct {
		conn *ldap.Conn
		err  error
	}
	ch := make(chan result, 1)
	go func() {
		c, err := ldap.DialURL(l.URL, opts...)
		ch <- result{c, err}
	}()
	select {
	case r := <-ch:
		return r.conn, r.err
	case <-ctx.Done():
		go func() {
			if r := <-ch; r.conn != nil {
				r.conn.Close()
			}
		}()
		return nil, ctx.Err()
	}
}
