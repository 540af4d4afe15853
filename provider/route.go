package provider

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sort"
	"strings"
)

// Router says where to connect to reach a domain's incoming mail server.
type Router interface {
	// Route returns the addresses (host:port) to try for domain, in
	// order.
	Route(ctx context.Context, domain string) ([]string, error)
}

// StaticRouter routes each domain (lower case) to one host:port: for tests,
// demonstrations and private networks.
type StaticRouter map[string]string

// Route implements Router.
func (s StaticRouter) Route(_ context.Context, domain string) ([]string, error) {
	if a, ok := s[strings.ToLower(domain)]; ok {
		return []string{a}, nil
	}
	return nil, &RouteError{Domain: domain, Err: fmt.Errorf("no route")}
}

// MXRouter routes by the domain's MX records (RFC 5321 §5.1), in order of
// preference, else its address records.
type MXRouter struct {
	// Resolver looks the records up; nil: net.DefaultResolver.
	Resolver *net.Resolver
	// Port is the port to connect to; "" means "25".
	Port string
}

// Route implements Router.
func (m *MXRouter) Route(ctx context.Context, domain string) ([]string, error) {
	r := m.Resolver
	if r == nil {
		r = net.DefaultResolver
	}
	port := m.Port
	if port == "" {
		port = "25"
	}
	mxs, err := r.LookupMX(ctx, domain)
	if err != nil {
		var dnsErr *net.DNSError
		if !errors.As(err, &dnsErr) || !dnsErr.IsNotFound {
			return nil, &RouteError{Domain: domain, Err: err}
		}
	}
	sort.SliceStable(mxs, func(i, j int) bool { return mxs[i].Pref < mxs[j].Pref })
	var out []string
	for _, mx := range mxs {
		h := strings.TrimSuffix(mx.Host, ".")
		if h == "" { // a null MX (RFC 7505): the domain accepts no mail
			return nil, &RouteError{Domain: domain, Err: fmt.Errorf("null MX"), Permanent: true}
		}
		out = append(out, net.JoinHostPort(h, port))
	}
	if len(out) == 0 { // RFC 5321 §5.1: the implicit MX
		out = append(out, net.JoinHostPort(domain, port))
	}
	return out, nil
}
