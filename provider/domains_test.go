package provider

import (
	"errors"
	"slices"
	"sync"
	"testing"
)

func TestSetDomains(t *testing.T) {
	tests := []struct {
		name string
		in   []string
		want []string // nil: refused
	}{
		{"one", []string{"pec.alfa.test"}, []string{"pec.alfa.test"}},
		{"lower-cased", []string{"pec.alfa.test", "PEC.Customer.Test"}, []string{"pec.alfa.test", "pec.customer.test"}},
		{"empty", nil, nil},
		{"twice", []string{"pec.alfa.test", "PEC.alfa.test"}, nil},
		{"not a name", []string{"pec.alfa.test", "pec alfa.test"}, nil},
		{"empty label", []string{"pec..test"}, nil},
		{"hyphen first", []string{"-pec.test"}, nil},
		{"address", []string{"a@pec.test"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &Provider{cfg: Config{Domains: []string{"pec.old.test"}}}
			err := p.SetDomains(tt.in)
			if tt.want == nil {
				if !errors.Is(err, ErrConfig) {
					t.Errorf("SetDomains(%q) = %v, want ErrConfig", tt.in, err)
				}
				if got := p.Domains(); !slices.Equal(got, []string{"pec.old.test"}) {
					t.Errorf("after a refusal, Domains() = %q", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := p.Domains(); !slices.Equal(got, tt.want) {
				t.Errorf("Domains() = %q, want %q", got, tt.want)
			}
			for _, d := range tt.want {
				if !p.ours("x@" + d) {
					t.Errorf("ours(x@%s) = false", d)
				}
			}
			if p.ours("x@pec.old.test") {
				t.Error("the replaced domain is still ours")
			}
		})
	}
}

// TestSetDomainsConcurrent changes the domains while others ask whether an
// address is ours: run with -race.
func TestSetDomainsConcurrent(t *testing.T) {
	p := &Provider{cfg: Config{Domains: []string{"pec.alfa.test"}}}
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 1000 {
				if !p.ours("alice@pec.alfa.test") {
					t.Error("pec.alfa.test not ours")
					return
				}
				if d := p.domains()[0]; d != "pec.alfa.test" {
					t.Errorf("first domain %q", d)
					return
				}
			}
		}()
	}
	for i := range 1000 {
		doms := []string{"pec.alfa.test"}
		if i%2 == 0 {
			doms = append(doms, "pec.customer.test")
		}
		if err := p.SetDomains(doms); err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
	got := p.Domains()
	got[0] = "changed.test"
	if p.Domains()[0] != "pec.alfa.test" {
		t.Error("Domains returned the provider's own slice")
	}
}
