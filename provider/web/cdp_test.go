package web

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"
)

// cdp drives a headless Chromium over the DevTools protocol on a pipe
// (--remote-debugging-pipe: commands on its descriptor 3, answers and
// events on 4, each message ending with a NUL byte), so that a test can
// fill and submit the pages' forms as a user does.
type cdp struct {
	t       *testing.T
	cmd     *exec.Cmd
	in      *os.File // Chromium reads it
	mu      sync.Mutex
	next    int
	waiting map[int]chan cdpMessage
	events  chan cdpMessage
	session string
}

type cdpMessage struct {
	ID        int             `json:"id,omitempty"`
	Method    string          `json:"method,omitempty"`
	SessionID string          `json:"sessionId,omitempty"`
	Result    json.RawMessage `json:"result,omitempty"`
	Params    json.RawMessage `json:"params,omitempty"`
	Error     *struct {
		Message string `json:"message"`
	} `json:"error,omitempty"`
}

// startCDP starts Chromium with a profile of its own and a page to drive;
// both go at the end of the test.
func startCDP(t *testing.T, bin string) *cdp {
	t.Helper()
	cmdR, cmdW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	args := []string{"--headless", "--disable-gpu", "--no-first-run", "--disable-dev-shm-usage",
		"--disable-extensions", "--disable-sync", "--user-data-dir=" + t.TempDir(), "--remote-debugging-pipe",
		"--window-size=1200,900", "about:blank"}
	if os.Geteuid() == 0 {
		args = append(args, "--no-sandbox") // Chromium refuses to run its sandbox as root
	}
	cmd := exec.Command(bin, args...)
	cmd.ExtraFiles = []*os.File{cmdR, outW} // descriptors 3 and 4
	var errOut bytes.Buffer
	cmd.Stderr = &errOut
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	cmdR.Close()
	outW.Close()
	c := &cdp{t: t, cmd: cmd, in: cmdW, waiting: map[int]chan cdpMessage{}, events: make(chan cdpMessage, 256)}
	exited := make(chan struct{})
	go func() {
		cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		cmdW.Close() // Chromium exits when its command pipe closes
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
		outR.Close()
		if t.Failed() {
			t.Logf("chromium:\n%s", errOut.String())
		}
	})
	go c.read(outR)

	var target struct {
		TargetID string `json:"targetId"`
	}
	c.call("", "Target.createTarget", map[string]any{"url": "about:blank"}, &target)
	var att struct {
		SessionID string `json:"sessionId"`
	}
	c.call("", "Target.attachToTarget", map[string]any{"targetId": target.TargetID, "flatten": true}, &att)
	c.session = att.SessionID
	c.call(c.session, "Page.enable", nil, nil)
	return c
}

// read hands answers to their callers and keeps the events.
func (c *cdp) read(r *os.File) {
	br := bufio.NewReader(r)
	for {
		b, err := br.ReadBytes(0)
		if err != nil {
			return
		}
		var m cdpMessage
		if json.Unmarshal(b[:len(b)-1], &m) != nil {
			continue
		}
		if m.ID != 0 {
			c.mu.Lock()
			ch := c.waiting[m.ID]
			delete(c.waiting, m.ID)
			c.mu.Unlock()
			if ch != nil {
				ch <- m
			}
			continue
		}
		select {
		case c.events <- m:
		default: // nobody waits for so many
		}
	}
}

// call sends a command and decodes its result into out (when not nil).
func (c *cdp) call(session, method string, params any, out any) {
	c.t.Helper()
	c.mu.Lock()
	c.next++
	id := c.next
	ch := make(chan cdpMessage, 1)
	c.waiting[id] = ch
	c.mu.Unlock()
	msg := map[string]any{"id": id, "method": method}
	if params != nil {
		msg["params"] = params
	}
	if session != "" {
		msg["sessionId"] = session
	}
	b, err := json.Marshal(msg)
	if err != nil {
		c.t.Fatal(err)
	}
	if _, err := c.in.Write(append(b, 0)); err != nil {
		c.t.Fatalf("chromium: %s: %v", method, err)
	}
	select {
	case m := <-ch:
		if m.Error != nil {
			c.t.Fatalf("chromium: %s: %s", method, m.Error.Message)
		}
		if out != nil {
			if err := json.Unmarshal(m.Result, out); err != nil {
				c.t.Fatalf("chromium: %s: %v", method, err)
			}
		}
	case <-time.After(30 * time.Second):
		c.t.Fatalf("chromium: no answer to %s", method)
	}
}

// drain forgets the events so far.
func (c *cdp) drain() {
	for {
		select {
		case <-c.events:
		default:
			return
		}
	}
}

// waitLoad waits for the page's next load event.
func (c *cdp) waitLoad(what string) {
	c.t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		select {
		case m := <-c.events:
			if m.Method == "Page.loadEventFired" && m.SessionID == c.session {
				return
			}
		case <-deadline:
			c.t.Fatalf("chromium: %s: no page loaded", what)
		}
	}
}

// navigate opens url in the page and waits for it to load.
func (c *cdp) navigate(url string) {
	c.t.Helper()
	c.drain()
	c.call(c.session, "Page.navigate", map[string]any{"url": url}, nil)
	c.waitLoad(url)
}

// eval evaluates a JavaScript expression in the page and decodes its
// value (JSON) into out.
func (c *cdp) eval(expr string, out any) {
	c.t.Helper()
	var res struct {
		Result struct {
			Value json.RawMessage `json:"value"`
		} `json:"result"`
		ExceptionDetails *struct {
			Text string `json:"text"`
		} `json:"exceptionDetails"`
	}
	c.call(c.session, "Runtime.evaluate", map[string]any{"expression": expr, "returnByValue": true}, &res)
	if res.ExceptionDetails != nil {
		c.t.Fatalf("chromium: %s: %s", expr, res.ExceptionDetails.Text)
	}
	if out != nil {
		if err := json.Unmarshal(res.Result.Value, out); err != nil {
			c.t.Fatalf("chromium: %s: value %s: %v", expr, res.Result.Value, err)
		}
	}
}

// submit runs expr, which submits a form, and waits for the page it
// leads to.
func (c *cdp) submit(what, expr string) {
	c.t.Helper()
	c.drain()
	c.eval(expr, nil)
	c.waitLoad(what)
}

// pageState is what the test reads of the page shown.
type pageState struct {
	Status int    `json:"status"` // the HTTP status of the document
	Path   string `json:"path"`
	Alert  bool   `json:"alert"` // a role="alert" element is shown
	Text   string `json:"text"`
}

// state reads the page shown.
func (c *cdp) state() pageState {
	c.t.Helper()
	var s pageState
	c.eval(`({status: performance.getEntriesByType("navigation")[0].responseStatus, path: location.pathname,
		alert: document.querySelector('[role="alert"]') !== null, text: document.body ? document.body.innerText : ""})`, &s)
	return s
}

// fillLogin fills the login form shown and submits it with its button,
// after setting its form token to csrf when csrf is not "".
func (c *cdp) fillLogin(what, user, password, csrf string) {
	c.t.Helper()
	js := fmt.Sprintf(`(() => { const f = document.querySelector("form.login");
		f.user.value = %q; f.password.value = %q;`, user, password)
	if csrf != "" {
		js += fmt.Sprintf(` f.csrf.value = %q;`, csrf)
	}
	js += ` f.querySelector('button[type="submit"]').click(); return true; })()`
	c.submit(what, js)
}
