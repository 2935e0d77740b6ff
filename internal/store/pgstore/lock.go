package pgstore

import (
	"context"
	"fmt"
	"hash/fnv"
	"sync"

	"github.com/jackc/pgx/v5"

	"github.com/greenlang/greenlang/internal/store/driver"
)

var _ driver.Locker = (*Driver)(nil)

// TryLock takes a session advisory lock on a connection of its own, opened
// with the pool's settings, so that the lock lives exactly as long as that
// connection: a process that dies (or whose connection the server drops)
// frees it at once, and another process's TryLock then succeeds.
func (d *Driver) TryLock(ctx context.Context, key string) (driver.Lock, error) {
	conn, err := pgx.ConnectConfig(ctx, d.pool.Config().ConnConfig.Copy())
	if err != nil {
		return nil, fmt.Errorf("postgres: connecting for lock %q: %w", key, cleanErr(err))
	}
	h := fnv.New64a()
	h.Write([]byte("greenlang:" + key))
	id := int64(h.Sum64())
	var ok bool
	if err := conn.QueryRow(ctx, "SELECT pg_try_advisory_lock($1)", id).Scan(&ok); err != nil {
		conn.Close(context.WithoutCancel(ctx))
		return nil, fmt.Errorf("postgres: taking lock %q: %w", key, cleanErr(err))
	}
	if !ok {
		conn.Close(context.WithoutCancel(ctx))
		return nil, nil
	}
	return &advisoryLock{conn: conn, id: id}, nil
}

type advisoryLock struct {
	mu       sync.Mutex
	conn     *pgx.Conn
	id       int64
	released bool
}

func (l *advisoryLock) Check(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.released {
		return fmt.Errorf("postgres: lock released")
	}
	// The lock is the session's and only this session could unlock it: as
	// long as the session answers, it is held.
	if _, err := l.conn.Exec(ctx, "SELECT 1"); err != nil {
		return fmt.Errorf("postgres: checking lock: %w", cleanErr(err))
	}
	return nil
}

func (l *advisoryLock) Release(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.released {
		return nil
	}
	l.released = true
	// Closing the session frees the lock; no explicit unlock is needed.
	return l.conn.Close(ctx)
}
