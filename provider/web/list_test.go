package web

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pecsdk/pec/pec"
	"github.com/pecsdk/pec/provider/mailbox"
	"github.com/pecsdk/pec/sample"
)

var row = regexp.MustCompile(`(?s)<tr>\s*<td>([^<]*)</td>\s*<td>([^<]*)</td>\s*<td>([^<]*)</td>`)

func TestList(t *testing.T) {
	f := newFixture(t, nil, pec.KindAcceptance, pec.KindDelivery, pec.KindTransport)
	c := f.browser(t)
	login(t, c, f.http.URL, sample.Alice, alicePass)
	_, body, _ := get(t, c, f.http.URL, "/?lang=en")
	var folders, kinds []string
	var dates []time.Time
	for _, m := range row.FindAllStringSubmatch(body, -1) {
		d, err := time.Parse("02/01/2006 15:04:05 MST", m[1])
		if err != nil {
			t.Fatalf("date %q: %v", m[1], err)
		}
		dates = append(dates, d)
		folders = append(folders, m[2])
		kinds = append(kinds, m[3])
	}
	if len(kinds) != 4 {
		t.Fatalf("%d messages listed, want 4\n%s", len(kinds), body)
	}
	for i := 1; i < len(dates); i++ {
		if dates[i].After(dates[i-1]) {
			t.Errorf("message %d (%v) listed after an older one (%v)", i, dates[i], dates[i-1])
		}
	}
	for _, want := range []string{"delivery receipt", "acceptance receipt", "PEC message (transport envelope)", "sent message"} {
		if !strings.Contains(strings.Join(kinds, "|"), want) {
			t.Errorf("no %q among %q", want, kinds)
		}
	}
	if strings.Count(strings.Join(folders, "|"), "Inbox") != 3 || strings.Count(strings.Join(folders, "|"), "Sent") != 1 {
		t.Errorf("folders %q, want 3 Inbox and 1 Sent", folders)
	}
	if !strings.Contains(body, "Contratto di fornitura") || !strings.Contains(body, "bob@pec.destinatario.example") {
		t.Errorf("subject or recipients missing")
	}
}

func TestQuota(t *testing.T) {
	f := newFixture(t, nil, pec.KindAcceptance)
	f.store.SetQuota(sample.Alice, 5_000_000)
	// The quota applies to deliveries that follow; one more shows the limit.
	mb, err := f.store.Mailbox(context.Background(), sample.Alice)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := mb.Deliver(context.Background(), mailbox.Inbox, bytes.NewReader(f.set.Messages[pec.KindDelivery]), 0, time.Time{}); err != nil {
		t.Fatal(err)
	}
	u, err := mb.(mailbox.Metered).Usage(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	c := f.browser(t)
	login(t, c, f.http.URL, sample.Alice, alicePass)
	_, body, _ := get(t, c, f.http.URL, "/?lang=en")
	want := "Space used: " + size(u.Bytes) + " of 5.0 MB"
	if u.Bytes == 0 || !strings.Contains(body, want) {
		t.Errorf("want %q (usage %+v) in\n%s", want, u, body)
	}
}

// A receipt that arrives after the timeline was shown shows at the next
// look: the cached view follows the folder's UIDNEXT.
func TestViewFollowsMailbox(t *testing.T) {
	f := newFixture(t, nil, pec.KindAcceptance)
	c := f.browser(t)
	login(t, c, f.http.URL, sample.Alice, alicePass)
	bobState := func() string {
		_, body, _ := get(t, c, f.http.URL, "/sent/1")
		for _, m := range stateOf.FindAllStringSubmatch(body, -1) {
			if m[1] == sample.Bob {
				return m[2]
			}
		}
		return ""
	}
	if got := bobState(); got != "accepted" {
		t.Fatalf("bob %q, want accepted", got)
	}
	if got := bobState(); got != "accepted" {
		t.Fatalf("bob %q from the cache, want accepted", got)
	}
	mb, err := f.store.Mailbox(context.Background(), sample.Alice)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := mb.Deliver(context.Background(), mailbox.Inbox, bytes.NewReader(f.set.Messages[pec.KindDelivery]), 0, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if got := bobState(); got != "delivered" {
		t.Fatalf("bob %q after the delivery receipt, want delivered", got)
	}
}

// plainStore hands out mailboxes that do not tell their usage.
type plainStore struct{ mailbox.Store }

type plainMailbox struct{ mailbox.Mailbox }

func (s plainStore) Mailbox(ctx context.Context, user string) (mailbox.Mailbox, error) {
	mb, err := s.Store.Mailbox(ctx, user)
	return plainMailbox{mb}, err
}

func TestQuotaUnmetered(t *testing.T) {
	f := newFixture(t, nil, pec.KindAcceptance, pec.KindDelivery)
	srv := New(plainStore{f.store}, f.srv.auth, &Options{Verify: f.srv.opts.Verify})
	ctx := context.Background()
	mb, err := f.store.Mailbox(ctx, sample.Alice)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := any(plainMailbox{mb}).(mailbox.Metered); ok {
		t.Fatal("plainMailbox is Metered")
	}
	v, err := srv.mailboxView(ctx, sample.Alice)
	if err != nil {
		t.Fatal(err)
	}
	want := int64(len(sample.Original) + len(f.set.Messages[pec.KindAcceptance]) + len(f.set.Messages[pec.KindDelivery]))
	if v.used != want || v.limit != 0 {
		t.Errorf("used %d of %d, want %d of no limit", v.used, v.limit, want)
	}
}
