package store

import (
	"context"
	"errors"
	"sync"

	"github.com/greenlang/greenlang/internal/store/driver"
)

// Lock is a named lock held by one process (and one holder in it) at a
// time: the pipeline scheduler's leader lease.
type Lock interface {
	// Check reports an error when the lock may have been lost.
	Check(ctx context.Context) error
	// Release gives the lock up. Calling it twice is safe.
	Release(ctx context.Context) error
}

// TryLock takes the lock named key without waiting, returning nil when
// another holder has it. On an engine shared by processes (PostgreSQL) the
// engine holds it and frees it when the holder's process dies; on SQLite,
// which one process serves, the store holds it in memory.
func (s *Store) TryLock(ctx context.Context, key string) (Lock, error) {
	if l, ok := s.d.(driver.Locker); ok {
		dl, err := l.TryLock(ctx, key)
		if err != nil || dl == nil {
			return nil, err
		}
		return dl, nil
	}
	s.locks.mu.Lock()
	defer s.locks.mu.Unlock()
	if s.locks.held == nil {
		s.locks.held = map[string]bool{}
	}
	if s.locks.held[key] {
		return nil, nil
	}
	s.locks.held[key] = true
	return &memLock{locks: &s.locks, key: key}, nil
}

type memLocks struct {
	mu   sync.Mutex
	held map[string]bool
}

type memLock struct {
	locks    *memLocks
	key      string
	released bool
}

func (l *memLock) Check(context.Context) error {
	l.locks.mu.Lock()
	defer l.locks.mu.Unlock()
	if l.released {
		return errors.New("store: lock released")
	}
	return nil
}

func (l *memLock) Release(context.Context) error {
	l.locks.mu.Lock()
	defer l.locks.mu.Unlock()
	if !l.released {
		l.released = true
		delete(l.locks.held, l.key)
	}
	return nil
}
