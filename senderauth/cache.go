package senderauth

import (
	"context"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
)

// dnsCache is shared by every check of one Checker: 300 messages from
// one domain would otherwise ask the same SPF, DKIM and DMARC names 300
// times each, and every forward waits on those answers. Concurrent
// identical queries are one query (singleflight).
//
// net.Resolver does not report an answer's TTL, so the cache cannot use
// it: answers are kept for cacheTTL (1 minute, shorter than the TTL of
// nearly every published SPF/DKIM/DMARC record, so a record is at most a
// minute stale), "no such record" for cacheNegTTL, temporary errors not
// at all (the next check asks again). The size is bounded.
type dnsCache struct {
	ttl, negTTL time.Duration
	max         int
	now         func() time.Time

	mu sync.Mutex
	m  map[string]cached
	sf singleflight.Group
}

const (
	cacheTTL     = time.Minute
	cacheNegTTL  = 15 * time.Second
	cacheEntries = 10000
)

type cached struct {
	val     any
	err     error
	expires time.Time
}

func newDNSCache() *dnsCache {
	return &dnsCache{ttl: cacheTTL, negTTL: cacheNegTTL, max: cacheEntries, now: time.Now, m: map[string]cached{}}
}

// get answers k from the cache or runs fn once for all concurrent askers.
// fn gets a context of its own (timeout, not the first asker's
// cancellation: one check giving up must not fail the others); each
// asker still waits no longer than its own ctx. fn's errors come back
// normalized (see lookups).
func (c *dnsCache) get(ctx context.Context, k, name string, timeout time.Duration, fn func(context.Context) (any, error)) (any, error) {
	now := c.now()
	c.mu.Lock()
	e, ok := c.m[k]
	c.mu.Unlock()
	if ok && now.Before(e.expires) {
		return e.val, e.err
	}
	ch := c.sf.DoChan(k, func() (any, error) {
		// A flight that ended between our look above and this one has
		// put its answer: take it rather than ask again.
		c.mu.Lock()
		e, ok := c.m[k]
		c.mu.Unlock()
		if ok && c.now().Before(e.expires) {
			return e.val, e.err
		}
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
		defer cancel()
		v, err := fn(fctx)
		err = normalize(name, err)
		c.put(k, v, err)
		return v, err
	})
	select {
	case r := <-ch:
		return r.Val, r.Err
	case <-ctx.Done():
		return nil, normalize(name, ctx.Err())
	}
}

func (c *dnsCache) put(k string, v any, err error) {
	var ttl time.Duration
	switch {
	case err == nil:
		ttl = c.ttl
	case isNotFound(err):
		ttl = c.negTTL
	default:
		return // temporary: never cached
	}
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= c.max {
		for kk, e := range c.m {
			if !now.Before(e.expires) {
				delete(c.m, kk)
			}
		}
		// Still full: forget an arbitrary half (map order), a bound
		// rather than an LRU, for a cache that lives a minute.
		for kk := range c.m {
			if len(c.m) < c.max/2 {
				break
			}
			delete(c.m, kk)
		}
	}
	c.m[k] = cached{val: v, err: err, expires: now.Add(ttl)}
}
