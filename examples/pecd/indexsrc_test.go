package main

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/pecsdk/pec/pec/index"
)

func TestIndexSources(t *testing.T) {
	dir := t.TempDir()
	if _, err := loadDemoPKI(dir, time.Now()); err != nil {
		t.Fatal(err)
	}
	other := t.TempDir()
	if _, err := loadDemoPKI(other, time.Now()); err != nil {
		t.Fatal(err)
	}
	p7m, err := os.ReadFile(filepath.Join(dir, demoIndexSigned))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/igpec.ldif.p7m" {
			http.NotFound(w, r)
			return
		}
		w.Write(p7m)
	}))
	defer srv.Close()

	pinned := func(d string) IndexConfig {
		return IndexConfig{Anchors: filepath.Join(d, demoCA), PublisherCertificate: filepath.Join(d, demoPublisherCert)}
	}
	tests := []struct {
		name   string
		x      IndexConfig
		url    string // for the https source
		wantOK bool
		is     error
	}{
		{"signed file, pinned", withLDIF(pinned(dir), filepath.Join(dir, demoIndexSigned)), "", true, nil},
		{"signed file, publisher of another network", withLDIF(pinned(other), filepath.Join(dir, demoIndexSigned)), "", false, index.ErrUntrustedLDIF},
		{"plain file where a signed one is required", withLDIF(pinned(dir), filepath.Join(dir, demoIndexPlain)), "", false, index.ErrUntrustedLDIF},
		{"plain file, nothing pinned", IndexConfig{LDIF: filepath.Join(dir, demoIndexPlain)}, "", true, nil},
		{"https, pinned", pinned(dir), "/igpec.ldif.p7m", true, nil},
		{"https, another publisher", pinned(other), "/igpec.ldif.p7m", false, index.ErrUntrustedLDIF},
		{"https, not found", pinned(dir), "/nope", false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var src index.Source
			if tt.url != "" {
				opts, err := signedOptions(tt.x)
				if err != nil {
					t.Fatal(err)
				}
				src = &httpsIndex{URL: srv.URL + tt.url, Options: opts, Client: srv.Client()}
			} else {
				var err error
				if src, err = indexSource(tt.x); err != nil {
					t.Fatal(err)
				}
			}
			s, err := src.Load(context.Background())
			if tt.wantOK {
				if err != nil {
					t.Fatal(err)
				}
				if _, ok := s.Domain("pec.alfa.test"); !ok {
					t.Error("pec.alfa.test not in the index")
				}
				return
			}
			if err == nil || (tt.is != nil && !errors.Is(err, tt.is)) {
				t.Errorf("err = %v, want %v", err, tt.is)
			}
		})
	}
}

// TestIndexState keeps the signing time of the index accepted, and
// refuses an older index after a restart.
func TestIndexState(t *testing.T) {
	dir := t.TempDir()
	k, err := loadDemoPKI(dir, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	x := IndexConfig{LDIF: filepath.Join(dir, demoIndexSigned), Anchors: filepath.Join(dir, demoCA),
		PublisherCertificate: filepath.Join(dir, demoPublisherCert), Refresh: time.Hour, State: filepath.Join(dir, "state", "index.state")}
	m, err := openIndex(context.Background(), x, nil)
	if err != nil {
		t.Fatal(err)
	}
	kept, err := readIndexState(x.State)
	if err != nil || !kept.Equal(k.Index.SigningTime()) {
		t.Fatalf("state %v (%v), want %v", kept, err, k.Index.SigningTime())
	}
	if m.Status().SigningTime.IsZero() {
		t.Error("mirror without signing time")
	}
	// The same index again: accepted. An index newer than the one
	// offered was accepted before: refused, as a rollback.
	if _, err := openIndex(context.Background(), x, nil); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(x.State, []byte(kept.Add(time.Minute).Format(time.RFC3339Nano)+"\n"), 0o644)
	if _, err := openIndex(context.Background(), x, nil); !errors.Is(err, index.ErrRollback) {
		t.Errorf("err = %v, want a rollback", err)
	}
	os.WriteFile(x.State, []byte("yesterday"), 0o644)
	if _, err := openIndex(context.Background(), x, nil); err == nil {
		t.Error("unreadable state accepted")
	}
}

func withLDIF(x IndexConfig, path string) IndexConfig {
	x.LDIF = path
	return x
}
