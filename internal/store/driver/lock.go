package driver

import "context"

// Locker is the optional capability of an engine that several processes
// share: a named lock held by one of them at a time, released by the
// engine when its holder dies (PostgreSQL: a session advisory lock on a
// connection of its own, freed when that connection ends). Engines
// without it (SQLite) serve one process, which the store locks in memory.
type Locker interface {
	// TryLock takes the lock named key without waiting. It returns a nil
	// Lock and a nil error when another holder has it.
	TryLock(ctx context.Context, key string) (Lock, error)
}

// Lock is a held Locker lock.
type Lock interface {
	// Check reports an error when the lock may have been lost (its
	// connection broke): the holder must then stop acting as holder.
	Check(ctx context.Context) error
	// Release gives the lock up. Calling it twice is safe.
	Release(ctx context.Context) error
}
