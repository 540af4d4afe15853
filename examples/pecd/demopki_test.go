package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestDemoPKIReused(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	k, err := loadDemoPKI(dir, now)
	if err != nil {
		t.Fatal(err)
	}
	if !k.Created {
		t.Error("first start: Created = false")
	}
	for _, f := range k.Files {
		if _, err := os.Stat(f); err != nil {
			t.Error(err)
		}
	}
	if fi, err := os.Stat(filepath.Join(dir, "alfa.key")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("alfa.key: %v %v", fi.Mode(), err)
	}
	before := map[string][]byte{}
	for _, f := range k.Files {
		before[f], _ = os.ReadFile(f)
	}

	k2, err := loadDemoPKI(dir, now.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if k2.Created {
		t.Error("second start generated the PKI again")
	}
	for _, f := range k2.Files {
		if b, _ := os.ReadFile(f); !bytes.Equal(b, before[f]) {
			t.Errorf("%s changed", f)
		}
	}
	if !k2.Signers["alfa"].Certificate().Equal(k.Signers["alfa"].Certificate()) || !k2.CA.Equal(k.CA) {
		t.Error("certificates differ across starts")
	}
	if p, ok := k2.Index.Domain("pec.beta.test"); !ok || p.Name != "Gestore Beta S.p.A." {
		t.Errorf("index: %v %v", p, ok)
	}
	if k2.Index.SigningTime().IsZero() {
		t.Error("signed index without signing time")
	}
}

func TestDemoPKIRefusesDamage(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	if _, err := loadDemoPKI(dir, now); err != nil {
		t.Fatal(err)
	}
	other := t.TempDir()
	if _, err := loadDemoPKI(other, now); err != nil {
		t.Fatal(err)
	}
	copyFile := func(name, from, to string) {
		b, err := os.ReadFile(filepath.Join(from, name))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(to, name), b, 0o600)
	}
	tests := []struct {
		name   string
		damage func(dir string)
		want   string
	}{
		{"missing key", func(d string) { os.Remove(filepath.Join(d, "beta.key")) }, "beta.key"},
		{"key of another", func(d string) { copyFile("alfa.key", other, d) }, "not the key"},
		{"certificate of another CA", func(d string) {
			copyFile("alfa.pem", other, d)
			copyFile("alfa.key", other, d)
		}, "alfa.pem"},
		{"index of another network", func(d string) { copyFile("index.ldif.p7m", other, d) }, "index.ldif.p7m"},
		{"plain index of another", func(d string) { copyFile("index.ldif", other, d) }, "index.ldif"},
		{"index not signed", func(d string) {
			copyFile("index.ldif", d, d+"/x")
			os.WriteFile(filepath.Join(d, "index.ldif.p7m"), []byte("dn: o=postacert\n"), 0o644)
		}, "index.ldif.p7m"},
		{"tls of another CA", func(d string) { copyFile("tls.pem", other, d); copyFile("tls.key", other, d) }, "tls.pem"},
		{"expired", nil, "expires"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := t.TempDir()
			os.Mkdir(d+"/x", 0o755)
			for _, f := range pkiFiles() {
				copyFile(f, dir, d)
			}
			at := now
			if tt.damage != nil {
				tt.damage(d)
			} else {
				at = now.Add(demoCertValidity - 24*time.Hour)
			}
			_, err := loadDemoPKI(d, at)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "remove the directory") {
				t.Errorf("err = %v, want one naming %q", err, tt.want)
			}
		})
	}
}

func TestDemoPKIUnfinishedIsGeneratedAgain(t *testing.T) {
	dir := t.TempDir()
	// A crash before the last file: a CA without the rest.
	os.WriteFile(filepath.Join(dir, "ca.pem"), []byte("partial"), 0o644)
	k, err := loadDemoPKI(dir, time.Now())
	if err != nil || !k.Created {
		t.Fatalf("Created %v, err %v", k != nil && k.Created, err)
	}
}
