package pop3

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/pecsdk/pec/internal/dovecottest"
	"github.com/pecsdk/pec/internal/testenv"
	"github.com/pecsdk/pec/sample"
)

// TestFetchmail: fetchmail, with a private rcfile and the test CA, pulls
// the 14 signed messages of the sample set over POP3S, and every one
// arrives byte for byte behind the Received header fetchmail adds.
func TestFetchmail(t *testing.T) {
	fetchmail := testenv.Tool(t, "fetchmail")
	set, err := sample.New(time.Now().Add(-48 * time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	cert, err := dovecottest.NewTLS("fetchmail CA")
	if err != nil {
		t.Fatal(err)
	}
	f := startWith(t, cert, nil)
	var want []string
	for _, m := range set.Messages {
		want = append(want, string(m))
	}
	sort.Strings(want)
	f.deliver(t, want...)

	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	if err := os.Mkdir(out, 0o700); err != nil {
		t.Fatal(err)
	}
	ca := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(ca, cert.CAPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	host, port := splitAddr(t, f.pop3s)
	// Each message goes to its own file: the shell that runs the MDA
	// names it after its own process id. fetchmail checks the certificate's
	// DNS names only, and the test certificate is for localhost.
	rc := fmt.Sprintf(`set no syslog
set pidfile %q
set idfile %q
poll %s service %d proto POP3 auth password timeout 20
	user "mario@pec.example.it" there with password "segreta" is "mario" here
	options ssl sslcertck sslcertfile %q sslcommonname "localhost" keep fetchall no rewrite no mimedecode stripcr
	mda "cat > %s/msg.$$"
`, filepath.Join(dir, "fetchmail.pid"), filepath.Join(dir, "fetchids"), host, port, ca, out)
	rcfile := filepath.Join(dir, "fetchmailrc")
	if err := os.WriteFile(rcfile, []byte(rc), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, fetchmail, "-f", rcfile, "--nodetach", "-v")
	cmd.Env = append(os.Environ(), "HOME="+dir, "FETCHMAILHOME="+dir)
	if log, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("fetchmail: %v\n%s", err, log)
	}

	files, err := filepath.Glob(filepath.Join(out, "msg.*"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != len(want) {
		t.Fatalf("fetchmail delivered %d messages, want %d", len(files), len(want))
	}
	var got []string
	for _, p := range files {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		body, err := stripAdded(data)
		if err != nil {
			t.Errorf("%s: %v", filepath.Base(p), err)
			continue
		}
		// stripcr: the MDA gets bare LF line ends; put the CRLF back.
		got = append(got, strings.ReplaceAll(string(body), "\n", "\r\n"))
	}
	sort.Strings(got)
	for i := range min(len(got), len(want)) {
		if got[i] != want[i] {
			t.Errorf("message %d differs:\ngot  %.300q\nwant %.300q", i, got[i], want[i])
		}
	}
}

// stripAdded removes the Received header fetchmail puts first, and returns
// the message as the server sent it.
func stripAdded(data []byte) ([]byte, error) {
	if !bytes.HasPrefix(data, []byte("Received: ")) {
		return nil, fmt.Errorf("no Received header first: %.80q", data)
	}
	rest := data
	for {
		i := bytes.IndexByte(rest, '\n')
		if i < 0 {
			return nil, fmt.Errorf("unterminated header")
		}
		rest = rest[i+1:]
		if len(rest) == 0 || (rest[0] != ' ' && rest[0] != '\t') {
			return rest, nil
		}
	}
}
