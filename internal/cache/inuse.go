package cache

import "context"

// InUse reports whether an entry of the default or long-term alias could
// still be served: whether either alias's generation exists in the tag
// store. Every entry records its alias's generation, and a missing one
// starts above any recorded value, so without them nothing stored can be
// served: the cache was never used (a first start, or a process with a
// store of its own) or lost everything. It only reads: it starts no
// generation.
func (c *Caches) InUse(ctx context.Context) (bool, error) {
	if c.Default.Off() {
		return false, nil
	}
	keys := []string{c.Tags.key(c.Default.epoch()), c.Tags.key(c.LongTerm.epoch())}
	got, err := c.Tags.store.GetMany(ctx, keys)
	if err != nil {
		return false, err
	}
	return len(got) > 0, nil
}
