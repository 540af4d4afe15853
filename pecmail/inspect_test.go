package pecmail_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/pecsdk/pec/internal/testenv"
	"github.com/pecsdk/pec/pec"
	"github.com/pecsdk/pec/pec/smime"
	"github.com/pecsdk/pec/pecmail"
	"github.com/pecsdk/pec/sample"
)

// inspectVerdict is what "pec inspect --json" says of a file, and what
// Read must say of it too.
type inspectVerdict struct {
	File       string   `json:"file"`
	Kind       string   `json:"kind"`
	Wrapped    bool     `json:"wrapped"`
	OK         bool     `json:"ok"`
	Problems   []string `json:"problems"`
	Deviations []string `json:"deviations"`
	Signature  struct {
		Present  bool     `json:"present"`
		Intact   bool     `json:"intact"`
		Problems []string `json:"problems"`
	} `json:"signature"`
	// Error is a string when inspect could not read the file, the
	// failure a notice reports (an object) otherwise.
	Error json.RawMessage `json:"error"`
	err   string
}

// buildTool builds the pec command once for the test.
func buildTool(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the pec command: not in -short")
	}
	goTool := testenv.Tool(t, "go")
	bin := filepath.Join(t.TempDir(), "pec")
	out, err := exec.Command(goTool, "build", "-o", bin, "github.com/pecsdk/pec/examples/pec").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// inspect runs "pec inspect --json" on files and returns its verdicts by
// file.
func inspect(t *testing.T, bin string, args []string, files []string) map[string]inspectVerdict {
	t.Helper()
	cmd := exec.Command(bin, append(append([]string{"inspect", "--json"}, args...), files...)...)
	out, err := cmd.Output()
	if _, ok := err.(*exec.ExitError); err != nil && !ok {
		t.Fatalf("pec inspect: %v", err)
	}
	got := map[string]inspectVerdict{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		var v inspectVerdict
		if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
			t.Fatalf("pec inspect output %q: %v", sc.Bytes(), err)
		}
		if len(v.Error) > 0 && v.Error[0] == '"' {
			json.Unmarshal(v.Error, &v.err)
		}
		got[v.File] = v
	}
	if len(got) != len(files) {
		t.Fatalf("pec inspect reported %d files of %d:\n%s", len(got), len(files), out)
	}
	return got
}

// readVerdict is what Read says of a file, in the terms of inspect.
func readVerdict(t *testing.T, path string, opts *smime.VerifyOptions) inspectVerdict {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	v := inspectVerdict{File: path, Problems: []string{}, Deviations: []string{}}
	m, err := pecmail.Read(f, opts)
	if err != nil {
		v.err = err.Error()
		return v
	}
	p := m.PEC()
	if p == nil || !(p.Kind.IsEnvelope() || p.Kind.IsReceipt()) {
		v.err = "not an envelope or a receipt" // inspect refuses it; the message differs
		return v
	}
	v.Kind, v.Wrapped, v.OK = p.Kind.String(), p.Wrapped, p.OK()
	for _, e := range p.Problems {
		v.Problems = append(v.Problems, e.Error())
	}
	v.Deviations = append(v.Deviations, p.Deviations...)
	v.Signature.Problems = []string{}
	if s := p.Signature; s != nil {
		v.Signature.Present, v.Signature.Intact = s.Present, s.Intact
		for _, q := range s.Problems {
			v.Signature.Problems = append(v.Signature.Problems, q.String())
		}
	} else {
		v.Signature.Problems = append(v.Signature.Problems, "not signed")
	}
	return v
}

func compareVerdicts(t *testing.T, want map[string]inspectVerdict, opts *smime.VerifyOptions) {
	t.Helper()
	for path, w := range want {
		got := readVerdict(t, path, opts)
		name := filepath.Base(path)
		if w.err != "" || got.err != "" {
			if (w.err == "") != (got.err == "") {
				t.Errorf("%s: Read error %q, inspect error %q", name, got.err, w.err)
			}
			continue
		}
		if got.Kind != w.Kind || got.Wrapped != w.Wrapped || got.OK != w.OK {
			t.Errorf("%s: Read says %s (wrapped %v, OK %v), inspect %s (wrapped %v, OK %v)", name, got.Kind, got.Wrapped, got.OK, w.Kind, w.Wrapped, w.OK)
		}
		if !slices.Equal(got.Problems, w.Problems) {
			t.Errorf("%s: problems\n got %q\nwant %q", name, got.Problems, w.Problems)
		}
		if !slices.Equal(got.Deviations, w.Deviations) {
			t.Errorf("%s: deviations\n got %q\nwant %q", name, got.Deviations, w.Deviations)
		}
		if got.Signature.Present != w.Signature.Present || got.Signature.Intact != w.Signature.Intact || !slices.Equal(got.Signature.Problems, w.Signature.Problems) {
			t.Errorf("%s: signature %+v, inspect %+v", name, got.Signature, w.Signature)
		}
	}
}

// TestSameVerdictsAsInspect: Read gives the kind, OK, problems, deviations
// and signature verdict that "pec inspect --json" gives, on every corpus
// file (integrity only: their certificates have expired, and inspect
// verifies live) and on the sample messages of every kind, trusted through
// their index, and a forwarded PEC message.
func TestSameVerdictsAsInspect(t *testing.T) {
	bin := buildTool(t)
	t.Run("corpus", func(t *testing.T) {
		files := testenv.CorpusFiles(t)
		compareVerdicts(t, inspect(t, bin, nil, files), nil)
	})
	t.Run("sample", func(t *testing.T) {
		set, err := sample.New(time.Now().Add(-48 * time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		write := func(name string, b []byte) string {
			p := filepath.Join(dir, name)
			if err := os.WriteFile(p, b, 0o644); err != nil {
				t.Fatal(err)
			}
			return p
		}
		ldif, err := set.IndexLDIF()
		if err != nil {
			t.Fatal(err)
		}
		idxFile := write("index.ldif", ldif)
		var files []string
		for i, k := range pec.Kinds {
			files = append(files, write(fmt.Sprintf("%02d-%s.eml", i+1, k), set.Messages[k]))
		}
		files = append(files, write("forwarded.eml", forward(set.Messages[pec.KindDelivery])))
		idx, err := set.Index()
		if err != nil {
			t.Fatal(err)
		}
		want := inspect(t, bin, []string{"--ldif", idxFile}, files)
		oks := 0
		for _, v := range want {
			if v.OK {
				oks++
			}
		}
		if oks != len(files) {
			t.Errorf("inspect finds %d of %d sample messages OK", oks, len(files))
		}
		compareVerdicts(t, want, &smime.VerifyOptions{Authority: idx})
	})
}
