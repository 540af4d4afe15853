package web

import (
	"testing"

	"github.com/pecsdk/pec/pec"
)

func TestReason(t *testing.T) {
	for _, tc := range []struct {
		err  *pec.Error
		lang string
		want string
	}{
		{nil, "en", ""},
		{&pec.Error{Code: pec.ErrorNoDest, Extended: "5.1.1 - casella inesistente"}, "en", "no such mailbox (5.1.1 - casella inesistente)"},
		{&pec.Error{Code: pec.ErrorNoDest}, "it", "casella inesistente"},
		{&pec.Error{Code: pec.ErrorNoDomain, Extended: " x "}, "it", "dominio inesistente (x)"},
		{&pec.Error{Code: pec.ErrorVirus}, "en", "virus found"},
		{&pec.Error{Code: "strano"}, "en", "other error"},
	} {
		if got := reason(tc.err, tc.lang); got != tc.want {
			t.Errorf("reason(%+v, %s) = %q, want %q", tc.err, tc.lang, got, tc.want)
		}
	}
}

func TestSize(t *testing.T) {
	for _, tc := range []struct {
		n    int64
		want string
	}{
		{0, "0 B"},
		{999, "999 B"},
		{1000, "1.0 kB"},
		{1550, "1.5 kB"},
		{2_500_000, "2.5 MB"},
		{10_000_000_000, "10.0 GB"},
	} {
		if got := size(tc.n); got != tc.want {
			t.Errorf("size(%d) = %q, want %q", tc.n, got, tc.want)
		}
	}
}
