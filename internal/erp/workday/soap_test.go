package workday

import (
	"context"
	"strings"
	"testing"

	"github.com/greenlang/greenlang/internal/erp"
)

func TestSOAPWorkers(t *testing.T) {
	e := newEnv(t, 2000) // 100 workers
	c := e.connector(t, true)
	if ents := c.Entities(); len(ents) != 1 || ents[0].Name != EntityWorkers {
		t.Fatalf("entities %+v", ents)
	}
	full, rejs, wm, pages := readAll(t, c, EntityWorkers, "", 30)
	if len(rejs) != 0 || len(full) != e.sim.SOAPWorkerCount() || pages != 4 || wm == "" {
		t.Fatalf("%d workers (%d rejected) in %d pages, simulator %d, watermark %q", len(full), len(rejs), pages, e.sim.SOAPWorkerCount(), wm)
	}
	m := byKey(t, full)
	inactive := 0
	for _, w := range e.sim.d.workers {
		r := m[w.WorkerID]
		if r.Worker == nil || r.Worker.Name != w.Descriptor || r.Worker.Active != w.active || r.Worker.Country != w.country ||
			r.Worker.Location != w.Location.Descriptor {
			t.Fatalf("worker %s mapped to %+v from %+v", w.WorkerID, r.Worker, w)
		}
		if !strings.Contains(string(r.Original), "Worker_Reference") || err(r.Validate()) {
			t.Fatalf("original %s", r.Original)
		}
		if !w.active {
			inactive++
		}
	}
	if inactive == 0 {
		t.Error("no terminated worker in the data set")
	}

	// Resume from a cursor in a new connector; the As_Of_Entry_DateTime of
	// the first page is kept.
	p, err1 := c.Fetch(context.Background(), EntityWorkers, erp.PageRequest{PageSize: 40})
	if err1 != nil || !strings.Contains(p.Next, "asof=") {
		t.Fatalf("first page: %v, next %q", err1, p.Next)
	}
	got := p.Records
	c2 := e.connector(t, true)
	req := erp.PageRequest{PageSize: 40, Cursor: p.Next}
	for {
		e.sim.ExpireTokens() // irrelevant to SOAP, must not matter
		p, err := c2.Fetch(context.Background(), EntityWorkers, req)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, p.Records...)
		if p.Next == "" {
			break
		}
		req.Cursor = p.Next
	}
	if len(byKey(t, got)) != len(full) {
		t.Fatalf("resumed read %d, full %d", len(got), len(full))
	}
}

func err(e error) bool { return e != nil }

func TestSOAPFailures(t *testing.T) {
	e := newEnv(t, 1000)
	c := e.connector(t, true)
	path := "/ccx/service/gms/Human_Resources/v42.0"

	// Server errors are retried: the call is marked idempotent.
	e.sim.FailNext(2, 500)
	before := e.sim.Requests()
	if _, err := c.Fetch(context.Background(), EntityWorkers, erp.PageRequest{}); err != nil {
		t.Fatalf("after 500s: %v", err)
	}
	if got := e.sim.Requests() - before; got != 3 {
		t.Fatalf("%d requests", got)
	}
	e.sim.Throttle(2, 0)
	if _, err := c.Fetch(context.Background(), EntityWorkers, erp.PageRequest{}); err != nil {
		t.Fatalf("after 429s: %v", err)
	}

	// A truncated page is an error naming the path; the cursor works again.
	e.sim.MalformNext(1)
	_, err1 := c.Fetch(context.Background(), EntityWorkers, erp.PageRequest{PageSize: 10})
	if err1 == nil || !strings.Contains(err1.Error(), path) || !strings.Contains(err1.Error(), "malformed") {
		t.Fatalf("malformed: %v", err1)
	}
	if _, err := c.Fetch(context.Background(), EntityWorkers, erp.PageRequest{PageSize: 10}); err != nil {
		t.Fatal(err)
	}

	// A bad worker is rejected, naming the field.
	w := e.sim.d.workers[3]
	if err := e.sim.InjectBad(w.WorkerID, "workerId"); err != nil {
		t.Fatal(err)
	}
	p, err2 := c.Fetch(context.Background(), EntityWorkers, erp.PageRequest{PageSize: 10})
	if err2 != nil || len(p.Rejected) != 1 || len(p.Records) != 9 || !strings.Contains(p.Rejected[0].Reason, "Worker_ID") {
		t.Fatalf("rejected %+v, %d records: %v", p.Rejected, len(p.Records), err2)
	}

	// Wrong password: a Client fault, not retried, named in the error and
	// the check, without the password.
	cfg := e.config(true)
	cfg.Credentials = map[string]string{"username": cfg.Credentials["username"], "password": "not-the-password-77"}
	bad, err3 := New(cfg)
	if err3 != nil {
		t.Fatal(err3)
	}
	before = e.sim.Requests()
	_, err4 := bad.Fetch(context.Background(), EntityWorkers, erp.PageRequest{})
	if err4 == nil || !strings.Contains(err4.Error(), "invalid username or password") || strings.Contains(err4.Error(), "not-the-password-77") {
		t.Fatalf("bad password: %v", err4)
	}
	if got := e.sim.Requests() - before; got != 1 {
		t.Fatalf("a Client fault was sent %d times", got)
	}
	steps := bad.Check(context.Background())
	last := steps[len(steps)-1]
	if len(steps) != 2 || last.OK || !strings.Contains(last.Detail, "authenticationError") || strings.Contains(last.Detail, "not-the-password-77") {
		t.Fatalf("check %+v", steps)
	}
	good := c.Check(context.Background())
	if len(good) != 2 || !good[1].OK {
		t.Fatalf("check %+v", good)
	}
}
