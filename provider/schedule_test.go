package provider

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/pecsdk/pec/provider/spool"
)

// TestPollIsNoNews: the scheduler's poll hands a worker what is due, but an
// item a worker already has is not queued to be processed a second time
// (it was, once per poll, for every item of a backlog), and neither is a
// claim whose owner a worker has. A kick for news (a receipt arriving for
// an item at work) still processes the item again.
func TestPollIsNoNews(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	p := &Provider{
		ctx: ctx, cfg: Config{Logger: slog.New(slog.DiscardHandler)},
		queue: make(chan string, 8),
		busy:  map[string]bool{}, again: map[string]bool{}, missed: map[string]bool{},
	}
	st := func(id, owner string) *spool.State {
		s := &spool.State{Item: spool.Item{ID: id, Role: spool.RoleIncoming}}
		if owner != "" {
			s.Item.Meta = map[string]string{claimOwner: owner}
		}
		return s
	}
	queued := func() []string {
		var ids []string
		for {
			select {
			case id := <-p.queue:
				ids = append(ids, id)
			default:
				return ids
			}
		}
	}

	p.busy["i.owner"] = true
	p.poke(st("i.owner", ""))
	p.poke(st("c.claim", "i.owner"))
	if got := queued(); len(got) != 0 || p.again["i.owner"] || p.busy["c.claim"] {
		t.Fatalf("poll of items at work: queued %q, again %v, busy %v", got, p.again, p.busy)
	}

	delete(p.busy, "i.owner")
	p.poke(st("c.claim", "i.owner"))
	p.poke(st("i.idle", ""))
	if got := strings.Join(queued(), " "); got != "c.claim i.idle" {
		t.Fatalf("poll of idle items: queued %q", got)
	}

	p.busy["i.owner"] = true
	p.kick("i.owner")
	if !p.again["i.owner"] {
		t.Fatal("a kick while at work is not remembered")
	}
}

// TestProcessCompletedMeanwhile: an item completed between the worker's Get
// and its reading of the body (a claim its owner released) is no error.
func TestProcessCompletedMeanwhile(t *testing.T) {
	ctx := context.Background()
	var log bytes.Buffer
	sp := &completing{Spool: spool.NewMemory(nil)}
	p := &Provider{ctx: ctx, cfg: Config{Spool: sp, Logger: slog.New(slog.NewTextHandler(&log, nil))}}
	it := &spool.Item{ID: "c.claim", Role: spool.RoleIncoming, To: []string{"x@example.test"}, Meta: map[string]string{claimOwner: "i.owner"}}
	if err := sp.Put(ctx, it, strings.NewReader("")); err != nil {
		t.Fatal(err)
	}
	p.process("c.claim")
	if log.Len() != 0 {
		t.Fatalf("logged:\n%s", log.String())
	}
	if _, err := sp.Get(ctx, "c.claim"); err == nil {
		t.Fatal("the item was not completed by the test's spool")
	}
}

// completing is a spool whose Get completes the item right after reading
// its state, as the owner of a claim does when it ends at that moment.
type completing struct{ spool.Spool }

func (c *completing) Get(ctx context.Context, id string) (*spool.State, error) {
	st, err := c.Spool.Get(ctx, id)
	if err == nil {
		err = c.Spool.Complete(ctx, id)
	}
	return st, err
}
