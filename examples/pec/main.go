// Command pec is a tool for users of Italian certified e-mail (PEC): it
// inspects, verifies and unpacks PEC messages, and writes a signed sample of
// every kind of the catalogue for testing software that consumes PEC.
//
//	pec inspect [--json] [--ca FILE] [--ldap URL | --ldif FILE [PUBLISHER]] FILE...
//	pec verify [--ca FILE] [--ldap URL | --ldif FILE [PUBLISHER]] FILE...
//	pec extract -o DIR FILE
//	pec sample -o DIR
//	pec index lookup (--ldap URL | --ldif FILE [PUBLISHER]) [--json] DOMAIN
//	pec index dump [--ldap URL | --ldif FILE [PUBLISHER]] [--json]
//	pec status [--json] [--store PATH] [MESSAGE-ID...]
//	pec send [--preset NAME | --server HOST:PORT [--starttls]] --user U --to A [--cc C] --subject S ...
//	pec fetch [--preset NAME | --server HOST:PORT [--starttls]] [--pop3] --user U -o DIR [--ca FILE] [--watch]
//	pec trace verify|query|reissue (--dir DIR | --postgres URL) ...
//
// A signed index (--ldif FILE.p7m) is read only from its publisher, which
// PUBLISHER pins: --index-publisher-cert FILE (its certificates; the
// anchors too unless --index-ca FILE is given), or --index-ca FILE with
// --index-publisher-subject DN or --index-publisher-email ADDR. Anchors
// alone are refused, since they certify the providers too, unless
// --index-any-signer says any signer under them will do.
//
// Run with no arguments, it writes the samples to a temporary folder and
// inspects and verifies them: a demonstration on embedded defaults.
package main

import (
	"fmt"
	"io"
	"os"
)

const usage = `usage:
  pec inspect [--json] [--ca FILE] FILE...   kind, headers, certification data, signature, original
  pec verify [--ca FILE] FILE...             exit 0 only when every file is intact (and trusted with --ca)
  pec inspect|verify --ldap URL | --ldif FILE ...
                                             trusted only when signed by a listed provider of the From domain
  pec extract -o DIR FILE                    write postacert.eml, daticert.xml and the attachments
  pec sample -o DIR                          a test CA and a signed sample of all 14 kinds
  pec index lookup (--ldap URL | --ldif FILE) [--json] DOMAIN
                                             exit 0 when DOMAIN is a PEC domain, 1 when not
  pec index dump [--ldap URL | --ldif FILE] [--json]
                                             the provider index (a sample one with no source)
  a signed --ldif (.p7m) is read only from its publisher, pinned by
    --index-publisher-cert FILE [--index-ca FILE], or by --index-ca FILE and
    --index-publisher-subject DN | --index-publisher-email ADDR | --index-any-signer (unsafe)
  pec status [--json] [--store PATH] [MESSAGE-ID...]
                                             state and evidence of each recipient of each sent message
  pec send [--preset NAME | --server HOST:PORT [--starttls]] --user U [--password-file F]
           --to A [--cc C] --subject S [--text T | --text-file F] [--attach FILE]
           [--receipt completa|breve|sintetica] [--message-id ID] [--store PATH]
                                             submit a PEC (password also from $PEC_PASSWORD)
  pec fetch [--preset NAME | --server HOST:PORT [--starttls]] [--pop3] --user U -o DIR
            [--ca FILE | --ldap URL | --ldif FILE] [--store PATH] [--watch]
                                             fetch new mail into DIR, verify it, feed the tracker
  pec trace verify (--dir DIR | --postgres URL) [--ca FILE] [--cert FILE]
                                             exit 0 only when the trace log is unaltered
  pec trace query (--dir DIR | --postgres URL) [--msgid ID] [--client-msgid ID] [--address A]
                  [--since T] [--until T] [--limit N] [--json]
  pec trace reissue (--dir DIR | --postgres URL) [-o FILE] MESSAGE-ID
                                             the receipt exactly as it was sent, from the log
  pec demo                                   sample + inspect + verify in a temporary folder
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run executes one command and returns the exit status.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		args = []string{"demo"}
	}
	var err error
	status := 0
	switch args[0] {
	case "inspect":
		status, err = cmdInspect(args[1:], stdout)
	case "verify":
		status, err = cmdVerify(args[1:], stdout)
	case "extract":
		err = cmdExtract(args[1:], stdout)
	case "sample":
		err = cmdSample(args[1:], stdout)
	case "index":
		status, err = cmdIndex(args[1:], stdout, stderr)
	case "status":
		err = cmdStatus(args[1:], stdout)
	case "send":
		err = cmdSend(args[1:], stdout)
	case "fetch":
		status, err = cmdFetch(args[1:], stdout, stderr)
	case "trace":
		status, err = cmdTrace(args[1:], stdout)
	case "demo":
		status, err = cmdDemo(stdout)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "pec: unknown command %q\n%s", args[0], usage)
		return 2
	}
	if err != nil {
		fmt.Fprintln(stderr, "pec:", err)
		if status == 0 {
			status = 2
		}
	}
	return status
}
