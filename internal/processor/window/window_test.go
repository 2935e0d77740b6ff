package window

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)

func at(min, sec int) time.Time {
	return t0.Add(time.Duration(min)*time.Minute + time.Duration(sec)*time.Second)
}

type ev struct {
	key string
	t   time.Time
	v   int
}

// run feeds events in order and returns what closed after each, as
// "key [start,end) sum" with times as minutes after t0, and the late
// events' indexes.
func run(t *testing.T, spec Spec, lateness time.Duration, evs []ev) (closed []string, late []int, s *Set[int]) {
	t.Helper()
	s, err := NewSet[int](spec, lateness)
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range evs {
		err := s.Add(e.key, e.t, func(a *int) { *a += e.v }, func(into *int, from int) { *into += from })
		var le *LateError
		if errors.As(err, &le) {
			late = append(late, i)
		} else if err != nil {
			t.Fatal(err)
		}
		// Round-trip through JSON after every event: the state a processor stores.
		b, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		var back Set[int]
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		s = &back
		for _, c := range s.Close() {
			closed = append(closed, fmt.Sprintf("%s [%s,%s) %d", c.Key, mins(c.Window.Start), mins(c.Window.End), c.Acc))
		}
	}
	return closed, late, s
}

func mins(x time.Time) string { return fmt.Sprint(x.Sub(t0).Minutes()) }

func TestTumblingOutOfOrderAndLate(t *testing.T) {
	closed, late, s := run(t, Tumbling(5*time.Minute), time.Minute, []ev{
		{"a", at(0, 10), 1},
		{"a", at(3, 0), 2},
		{"b", at(4, 59), 10},
		{"a", at(5, 30), 4},  // watermark 4:30: [0,5) still open
		{"a", at(1, 0), 8},   // out of order, within lateness: joins [0,5)
		{"a", at(6, 0), 16},  // watermark 5:00: [0,5) closes for a and b
		{"a", at(2, 0), 100}, // late: [0,5) closed
		{"b", at(9, 0), 20},
		{"a", at(11, 0), 32}, // watermark 10:00: [5,10) closes
	})
	want := []string{"a [0,5) 11", "b [0,5) 10", "a [5,10) 20", "b [5,10) 20"}
	if !reflect.DeepEqual(closed, want) {
		t.Fatalf("closed %q, want %q", closed, want)
	}
	if !reflect.DeepEqual(late, []int{6}) {
		t.Fatalf("late %v, want [6]", late)
	}
	if len(s.Open) != 1 || s.Open[0].Acc != 32 || !s.Watermark().Equal(at(10, 0)) {
		t.Fatalf("open %+v watermark %s", s.Open, s.Watermark())
	}
}

func TestTumblingLateErrorText(t *testing.T) {
	s, _ := NewSet[int](Tumbling(5*time.Minute), 0)
	_ = s.Add("a", at(10, 0), func(*int) {}, nil)
	err := s.Add("a", at(4, 0), func(*int) {}, nil)
	var le *LateError
	if !errors.As(err, &le) || !strings.Contains(err.Error(), "late event") || !le.Watermark.Equal(at(10, 0)) {
		t.Fatalf("got %v", err)
	}
}

func TestHopping(t *testing.T) {
	spec := Hopping(time.Hour, 5*time.Minute)
	if ws := spec.Assign(at(7, 0)); len(ws) != 12 || !ws[0].Start.Equal(at(-50, 0)) || !ws[11].Start.Equal(at(5, 0)) || !ws[11].End.Equal(at(65, 0)) {
		t.Fatalf("assign: %v", ws)
	}
	// Hopping 20 min every 5 (4 windows per event) keeps the expected output short.
	closed, late, _ := run(t, Hopping(20*time.Minute, 5*time.Minute), 2*time.Minute, []ev{
		{"a", at(1, 0), 1},  // windows [-15,5) [-10,10) [-5,15) [0,20)
		{"a", at(6, 0), 2},  // wm 4: nothing closes; windows [-10,10) [-5,15) [0,20) [5,25)
		{"a", at(3, 0), 4},  // out of order: [-15,5) [-10,10) [-5,15) [0,20)
		{"a", at(12, 0), 8}, // wm 10: [-15,5) and [-10,10) close
		{"a", at(4, 0), 16}, // late for [-15,5),[-10,10) but [-5,15),[0,20) are open: not late
		{"a", at(30, 0), 0}, // wm 28: [-5,15) [0,20) [5,25) close; creates [15,35)..[30,50)
		{"a", at(9, 0), 64}, // all of [-10,10) .. [5,25) closed: late
	})
	want := []string{
		"a [-15,5) 5", "a [-10,10) 7",
		"a [-5,15) 31", "a [0,20) 31", "a [5,25) 10",
	} // [10,30) (8) stays open: it ends after the watermark 28
	if !reflect.DeepEqual(closed, want) {
		t.Fatalf("closed %q, want %q", closed, want)
	}
	if !reflect.DeepEqual(late, []int{6}) {
		t.Fatalf("late %v, want [6]", late)
	}
}

func TestSession(t *testing.T) {
	closed, late, s := run(t, Session(30*time.Minute), 5*time.Minute, []ev{
		{"a", at(0, 0), 1},   // a: [0,30)
		{"a", at(20, 0), 2},  // a: [0,50)
		{"b", at(25, 0), 10}, // b: [25,55)
		{"a", at(90, 0), 4},  // wm 85: a [0,50) and b [25,55) close; a: [90,120)
		{"a", at(70, 0), 8},  // out of order, touches [90,120) (70+30 > 90): merged a [70,120)
		{"a", at(10, 0), 16}, // late: its session [10,40) is behind wm 85
		{"a", at(40, 0), 32}, // [40,70) touches nothing open and closed -> late
		{"a", at(150, 0), 0}, // wm 145: a [70,120) closes
	})
	want := []string{"a [0,50) 3", "b [25,55) 10", "a [70,120) 12"}
	if !reflect.DeepEqual(closed, want) {
		t.Fatalf("closed %q, want %q", closed, want)
	}
	if !reflect.DeepEqual(late, []int{5, 6}) {
		t.Fatalf("late %v, want [5 6]", late)
	}
	if len(s.Open) != 1 {
		t.Fatalf("open: %+v", s.Open)
	}
}

func TestSessionMergesTwo(t *testing.T) {
	closed, _, _ := run(t, Session(10*time.Minute), 0, []ev{
		{"a", at(0, 0), 1},  // [0,10)
		{"a", at(15, 0), 2}, // wm 15: [0,10) closes; [15,25)
		{"a", at(30, 0), 4}, // wm 30: [15,25) closes; [30,40)
		{"a", at(50, 0), 8}, // wm 50: [30,40) closes
	})
	want := []string{"a [0,10) 1", "a [15,25) 2", "a [30,40) 4"}
	if !reflect.DeepEqual(closed, want) {
		t.Fatalf("closed %q, want %q", closed, want)
	}
	// With lateness, an event between two open sessions bridges them.
	closed, _, s := run(t, Session(10*time.Minute), time.Hour, []ev{
		{"a", at(0, 0), 1},  // [0,10)
		{"a", at(15, 0), 2}, // [15,25)
		{"a", at(8, 0), 4},  // touches both: [0,25)
	})
	if len(closed) != 0 || len(s.Open) != 1 || s.Open[0].Acc != 7 || !s.Open[0].Window.Start.Equal(at(0, 0)) || !s.Open[0].Window.End.Equal(at(25, 0)) {
		t.Fatalf("closed %q open %+v", closed, s.Open)
	}
}

func TestSpecValidate(t *testing.T) {
	for _, s := range []Spec{Tumbling(0), Hopping(time.Hour, 7*time.Minute), Session(-1), {Kind: "x"}} {
		if s.Validate() == nil {
			t.Errorf("%+v: no error", s)
		}
	}
	if _, err := NewSet[int](Tumbling(time.Minute), -time.Second); err == nil {
		t.Error("negative lateness accepted")
	}
}
