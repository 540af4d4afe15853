package imap

import (
	"sync"

	goimap "github.com/emersion/go-imap/v2"
)

// envCacheMax bounds the envelopes kept: about 0.5 KiB each.
const envCacheMax = 50_000

// envCache keeps the envelopes FETCH has read, as Dovecot's index cache
// does, so that a client asking again (every session of a client that
// keeps no cache of its own) is not answered by opening and parsing every
// message anew. A message never changes under its UID and UIDVALIDITY
// (RFC 3501 §2.3.1.1); its size is part of the key too, so that a file
// replaced by another program is read again. Past envCacheMax entries,
// an eighth of them, taken at random, are forgotten.
type envCache struct {
	mu sync.Mutex
	m  map[envKey]*goimap.Envelope
}

type envKey struct {
	user, folder  string
	validity, uid uint32
	size          int64
}

func (c *envCache) get(k envKey) *goimap.Envelope {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[k]
}

func (c *envCache) put(k envKey, env *goimap.Envelope) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = make(map[envKey]*goimap.Envelope)
	}
	if len(c.m) >= envCacheMax {
		n := envCacheMax / 8
		for k := range c.m { // in random order
			delete(c.m, k)
			if n--; n == 0 {
				break
			}
		}
	}
	c.m[k] = env
}
