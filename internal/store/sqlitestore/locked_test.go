package sqlitestore_test

import (
	"bytes"
	"context"
	"database/sql"
	"log/slog"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/greenlang/greenlang/internal/store"
	"github.com/greenlang/greenlang/internal/store/drivertest"
	"github.com/greenlang/greenlang/internal/store/sqlitestore"
)

// lockedBuffer is a log sink safe for the store's goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Another process holds the write lock longer than the busy timeout: the
// store retries the whole transaction instead of failing.
func TestRetriesWhenTheDatabaseIsLocked(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "g.db")
	var logs lockedBuffer
	reg := store.NewRegistry()
	sqlitestore.Register(reg)
	u := url.URL{Scheme: "sqlite", Path: path, RawQuery: "busy_timeout=20"}
	s, err := reg.Open(ctx, u.String(), store.Options{Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	org := drivertest.NewOrg(t, s)

	other, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(0)&_txlock=immediate")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	tx, err := other.Begin()
	if err != nil {
		t.Fatal(err)
	}
	released := make(chan struct{})
	go func() {
		time.Sleep(150 * time.Millisecond)
		tx.Rollback()
		close(released)
	}()
	if err := s.Sites().Create(ctx, org.ID, &store.Site{Name: "written while locked"}); err != nil {
		t.Fatalf("write while another connection held the lock: %v", err)
	}
	<-released
	if !strings.Contains(logs.String(), "database locked, retrying") {
		t.Errorf("the write did not go through the retry path; logs:\n%s", logs.String())
	}
	if _, err := reg.Open(ctx, "sqlite://"+path+"?busy_timeout=soon", store.Options{}); err == nil || !strings.Contains(err.Error(), "busy_timeout") {
		t.Errorf("bad busy_timeout: %v", err)
	}
}
