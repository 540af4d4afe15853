package provider_test

import (
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pecsdk/pec/provider/mailbox"
	"github.com/pecsdk/pec/provider/providertest"
)

// TestAbuseSMTPNothingLost submits and pushes messages from many clients
// while others abuse the same listeners: every message that got a 250 is
// processed to its end.
func TestAbuseSMTPNothingLost(t *testing.T) {
	n := providertest.NewNetwork(t, nil)
	ls := listeners(t, n)
	alpha, beta := n.Provider("alpha"), n.Provider("beta")
	alice, bob := ls[0].from, ls[0].rcpt
	stop := make(chan struct{})
	var abusers sync.WaitGroup
	for i := range 4 {
		l := ls[i%2]
		abusers.Add(1)
		go func() {
			defer abusers.Done()
			for j := 0; ; j++ {
				select {
				case <-stop:
					return
				default:
				}
				var c net.Conn
				var err error
				if l.tls != nil {
					c, err = tls.DialWithDialer(&net.Dialer{Timeout: hangGuard}, "tcp", l.addr, l.tls)
				} else {
					c, err = net.DialTimeout("tcp", l.addr, hangGuard)
				}
				if err != nil {
					continue
				}
				c.SetDeadline(time.Now().Add(hangGuard))
				script := []string{
					"EHLO x\r\nMAIL FROM:<" + l.from + ">\r\nRCPT TO:<" + l.rcpt + ">\r\nDATA\r\nSubject: cut\r\n\r\nhalf", // dropped mid-DATA
					"\x00\xff\xfe garbage\r\nRCPT TO:<>\r\nDATA\r\n.\r\n",
					"EHLO " + strings.Repeat("h", 1<<16) + "\r\n",
					"EHLO x\r\nAUTH PLAIN " + base64.StdEncoding.EncodeToString([]byte("\x00"+alice+"\x00wrong")) + "\r\n",
				}[j%4]
				c.Write([]byte(script))
				time.Sleep(10 * time.Millisecond)
				c.Close()
			}
		}()
	}
	const senders, each = 6, 3
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		sub, inc int
	)
	for i := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range each {
				subj := fmt.Sprintf("Subject: %d.%d\r\n\r\nok\r\n", i, j)
				var err error
				if i%2 == 0 {
					err = rawSubmit(t, n, alpha, alice, "a-pass", alice, []string{bob}, []byte("From: "+alice+"\r\nTo: "+bob+"\r\n"+subj))
				} else {
					err = pushIncoming(t, n, beta, "x@ordinary.example", []string{bob}, []byte(subj))
				}
				mu.Lock()
				if err == nil {
					if i%2 == 0 {
						sub++
					} else {
						inc++
					}
				} else {
					t.Logf("sender %d: %v", i, err)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	close(stop)
	abusers.Wait()
	if sub == 0 || inc == 0 {
		t.Fatalf("%d submitted and %d pushed: the abuse kept clients out", sub, inc)
	}
	waitMessages(t, alpha, alice, mailbox.Inbox, 2*sub)
	waitMessages(t, beta, bob, mailbox.Inbox, sub+inc)
	waitIdle(t, alpha)
	waitIdle(t, beta)
	a, _ := alpha.Messages(alice, mailbox.Inbox)
	b, _ := beta.Messages(bob, mailbox.Inbox)
	if len(a) != 2*sub || len(b) != sub+inc {
		t.Fatalf("alice has %d receipts, bob %d messages; want %d and %d", len(a), len(b), 2*sub, sub+inc)
	}
}

// TestAbuseSMTPJunkText sends addresses, EHLO names and subjects that are
// not text: each is refused for good at SMTP, or accepted and processed to
// its end; none gets a 4xx that would have its sender retry forever, none
// stays in the spool.
func TestAbuseSMTPJunkText(t *testing.T) {
	n := providertest.NewNetwork(t, nil)
	ls := listeners(t, n)
	helos := []string{"abuse.example", "ab\x00use", "\xff\xfe.example"}
	subjects := []string{"\xff\x00\x80", "=?utf-8?q?a=00b?=", "=?utf-8?q?_spazi_?=", "=?iso-8859-1?q?caf=E9?=", "=?utf-8?b?/w==?="}
	accepted := map[string]int{}
	for _, l := range ls {
		for _, helo := range helos {
			for _, to := range []string{"x\x00y@pec.beta.example", "\xff\xfe@pec.beta.example", "\"a b\"@pec.beta.example", "a@b@pec.beta.example", l.rcpt} {
				for _, from := range []string{l.from, "", "\xff@x.example", "a\x00@x.example"} {
					for _, subj := range subjects {
						rc := dialRaw(t, l.addr, l.tls)
						rc.must("EHLO "+helo, 250)
						l.login(rc)
						step := func(line string, ok int) bool {
							code, text := rc.cmd(line)
							if code/100 == 4 {
								t.Fatalf("%s %.60q: %d %s", l.name, line, code, text)
							}
							return code == ok
						}
						mid := "<" + strconv.Itoa(len(accepted)) + "@abuse.example>"
						switch subj {
						case subjects[0]:
							mid = "<\xff@\x00>"
						case subjects[1]:
							mid = "<>"
						case subjects[2]:
							mid += "\r\nMessage-ID: <other@abuse.example>"
						}
						if step("MAIL FROM:<"+from+">", 250) && step("RCPT TO:<"+to+">", 250) && step("DATA", 354) &&
							step("From: <"+l.from+">\r\nSubject: "+subj+"\r\nMessage-ID: "+mid+"\r\n\r\n\x00\xff\x80\r\n.", 250) {
							accepted[l.name]++
						}
						rc.cmd("QUIT")
					}
				}
			}
		}
	}
	t.Logf("accepted %v", accepted)
	if accepted["submission"] == 0 || accepted["incoming"] == 0 {
		t.Fatalf("accepted %v: the valid cases too were refused", accepted)
	}
	waitIdle(t, n.Provider("alpha"))
	waitIdle(t, n.Provider("beta"))
	if msgs, _ := n.Provider("alpha").Messages(ls[0].from, mailbox.Inbox); len(msgs) < accepted["submission"] {
		t.Fatalf("alice has %d receipts for %d messages accepted", len(msgs), accepted["submission"])
	}
}
