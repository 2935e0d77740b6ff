// Package window is event-time windowing for stream processors:
// tumbling, hopping and session windows over a watermark (the greatest
// event time seen minus the allowed lateness). A window closes, and its
// final value is emitted once, when the watermark reaches its end; an event
// whose every window has already closed is late (*LateError), which a
// processor dead-letters.
//
// A Set is plain data (JSON), so it lives in a processor's partition state
// and survives restarts with it.
package window

import (
	"fmt"
	"sort"
	"time"
)

// Kind is a window kind.
type Kind string

// Window kinds.
const (
	KindTumbling Kind = "tumbling"
	KindHopping  Kind = "hopping"
	KindSession  Kind = "session"
)

// Spec describes windows.
type Spec struct {
	Kind Kind `json:"kind"`
	// Size is the length of tumbling and hopping windows.
	Size time.Duration `json:"size,omitempty"`
	// Advance is how far hopping windows move (Size must be a multiple).
	Advance time.Duration `json:"advance,omitempty"`
	// Gap closes a session after this long without an event.
	Gap time.Duration `json:"gap,omitempty"`
}

// Tumbling windows of size: [k·size, (k+1)·size) since the Unix epoch.
func Tumbling(size time.Duration) Spec { return Spec{Kind: KindTumbling, Size: size} }

// Hopping windows of size starting every advance.
func Hopping(size, advance time.Duration) Spec {
	return Spec{Kind: KindHopping, Size: size, Advance: advance}
}

// Session windows: events less than gap apart share a window, which runs
// from the first event to the last event + gap.
func Session(gap time.Duration) Spec { return Spec{Kind: KindSession, Gap: gap} }

// Validate checks s.
func (s Spec) Validate() error {
	switch s.Kind {
	case KindTumbling:
		if s.Size <= 0 {
			return fmt.Errorf("window: tumbling size %s must be positive", s.Size)
		}
	case KindHopping:
		if s.Size <= 0 || s.Advance <= 0 || s.Advance > s.Size || s.Size%s.Advance != 0 {
			return fmt.Errorf("window: hopping size %s and advance %s: want 0 < advance <= size, size a multiple of advance", s.Size, s.Advance)
		}
	case KindSession:
		if s.Gap <= 0 {
			return fmt.Errorf("window: session gap %s must be positive", s.Gap)
		}
	default:
		return fmt.Errorf("window: unknown kind %q", s.Kind)
	}
	return nil
}

// Name is a short label: "tumbling-5m0s", "hopping-1h0m0s-5m0s", "session-30m0s".
func (s Spec) Name() string {
	switch s.Kind {
	case KindHopping:
		return fmt.Sprintf("%s-%s-%s", s.Kind, s.Size, s.Advance)
	case KindSession:
		return fmt.Sprintf("%s-%s", s.Kind, s.Gap)
	}
	return fmt.Sprintf("%s-%s", s.Kind, s.Size)
}

// Window is the half-open interval [Start, End).
type Window struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
}

// Assign returns the tumbling or hopping windows containing t, oldest
// first. Sessions are assigned by Set.Add.
func (s Spec) Assign(t time.Time) []Window {
	t = t.UTC()
	switch s.Kind {
	case KindTumbling:
		start := floor(t, s.Size)
		return []Window{{start, start.Add(s.Size)}}
	case KindHopping:
		last := floor(t, s.Advance)
		n := int(s.Size / s.Advance)
		out := make([]Window, 0, n)
		for i := n - 1; i >= 0; i-- {
			start := last.Add(-time.Duration(i) * s.Advance)
			out = append(out, Window{start, start.Add(s.Size)})
		}
		return out
	}
	return nil
}

func floor(t time.Time, d time.Duration) time.Time {
	ns := t.UnixNano()
	r := ns % int64(d)
	if r < 0 {
		r += int64(d)
	}
	return time.Unix(0, ns-r).UTC()
}

// LateError is an event that arrived after every window it belongs to
// closed.
type LateError struct {
	Spec      Spec
	EventTime time.Time
	Watermark time.Time
}

func (e *LateError) Error() string {
	return fmt.Sprintf("late event: event time %s is behind the %s watermark %s beyond the allowed lateness (its windows have closed)",
		e.EventTime.Format(time.RFC3339Nano), e.Spec.Name(), e.Watermark.Format(time.RFC3339Nano))
}

// Entry is one open window of one key with its accumulator.
type Entry[A any] struct {
	Key    string `json:"key"`
	Window Window `json:"window"`
	Acc    A      `json:"acc"`
}

// Set is the open windows of every key under one Spec, with the stream's
// event-time clock. The zero value is not usable: use NewSet. Not safe for
// concurrent use.
type Set[A any] struct {
	Spec     Spec          `json:"spec"`
	Lateness time.Duration `json:"lateness"`
	// MaxEventTime is the greatest event time seen; zero before the first.
	MaxEventTime time.Time  `json:"max_event_time"`
	Open         []Entry[A] `json:"open"`
}

// NewSet returns an empty set.
func NewSet[A any](spec Spec, lateness time.Duration) (*Set[A], error) {
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	if lateness < 0 {
		return nil, fmt.Errorf("window: negative allowed lateness %s", lateness)
	}
	return &Set[A]{Spec: spec, Lateness: lateness}, nil
}

// Watermark is MaxEventTime − Lateness: every window ending at or before
// it is closed. Zero before the first event.
func (s *Set[A]) Watermark() time.Time {
	if s.MaxEventTime.IsZero() {
		return time.Time{}
	}
	return s.MaxEventTime.Add(-s.Lateness)
}

// closed reports whether w is closed under the current watermark.
func (s *Set[A]) closed(w Window) bool {
	wm := s.Watermark()
	return !wm.IsZero() && !w.End.After(wm)
}

// Add accounts an event of key at event time t: it advances the clock,
// then applies add to the accumulator of every open window of key that
// contains t (creating them with a zero A). For sessions, windows the event
// bridges are merged with merge(into, from) first (merge may be nil for
// other kinds). An event whose windows are all closed changes nothing and
// is a *LateError. Call Close after Add to collect the windows the new
// watermark closed.
func (s *Set[A]) Add(key string, t time.Time, add func(*A), merge func(into *A, from A)) error {
	t = t.UTC()
	if t.After(s.MaxEventTime) {
		s.MaxEventTime = t
	}
	if s.Spec.Kind == KindSession {
		return s.addSession(key, t, add, merge)
	}
	var ws []Window
	for _, w := range s.Spec.Assign(t) {
		if !s.closed(w) {
			ws = append(ws, w)
		}
	}
	if len(ws) == 0 {
		return &LateError{Spec: s.Spec, EventTime: t, Watermark: s.Watermark()}
	}
	for _, w := range ws {
		i := s.find(key, w)
		if i < 0 {
			var zero A
			s.Open = append(s.Open, Entry[A]{Key: key, Window: w, Acc: zero})
			i = len(s.Open) - 1
		}
		add(&s.Open[i].Acc)
	}
	s.sort()
	return nil
}

func (s *Set[A]) find(key string, w Window) int {
	for i := range s.Open {
		if s.Open[i].Key == key && s.Open[i].Window.Start.Equal(w.Start) && s.Open[i].Window.End.Equal(w.End) {
			return i
		}
	}
	return -1
}

func (s *Set[A]) addSession(key string, t time.Time, add func(*A), merge func(into *A, from A)) error {
	nw := Window{Start: t, End: t.Add(s.Spec.Gap)}
	// Open sessions of key that the event touches: t within [start-gap, end).
	var hit []int
	for i := range s.Open {
		e := &s.Open[i]
		if e.Key == key && t.Before(e.Window.End) && nw.End.After(e.Window.Start) {
			hit = append(hit, i)
		}
	}
	if len(hit) == 0 && s.closed(nw) {
		return &LateError{Spec: s.Spec, EventTime: t, Watermark: s.Watermark()}
	}
	var acc A
	w := nw
	if len(hit) > 0 {
		first := s.Open[hit[0]]
		acc, w = first.Acc, first.Window
		for _, i := range hit[1:] {
			if merge == nil {
				return fmt.Errorf("window: merging sessions needs a merge function")
			}
			merge(&acc, s.Open[i].Acc)
			w = Window{Start: minTime(w.Start, s.Open[i].Window.Start), End: maxTime(w.End, s.Open[i].Window.End)}
		}
		w = Window{Start: minTime(w.Start, nw.Start), End: maxTime(w.End, nw.End)}
		keep := s.Open[:0]
		for i := range s.Open {
			if !contains(hit, i) {
				keep = append(keep, s.Open[i])
			}
		}
		s.Open = keep
	}
	add(&acc)
	s.Open = append(s.Open, Entry[A]{Key: key, Window: w, Acc: acc})
	s.sort()
	return nil
}

func contains(xs []int, x int) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// sort orders the open windows by end, key and start: the order Close
// emits them in.
func (s *Set[A]) sort() {
	sort.SliceStable(s.Open, func(i, j int) bool {
		a, b := s.Open[i], s.Open[j]
		if !a.Window.End.Equal(b.Window.End) {
			return a.Window.End.Before(b.Window.End)
		}
		if a.Key != b.Key {
			return a.Key < b.Key
		}
		return a.Window.Start.Before(b.Window.Start)
	})
}

// Close removes and returns the windows the watermark has passed (end at
// or before it), ordered by end, key and start.
func (s *Set[A]) Close() []Entry[A] {
	var out []Entry[A]
	keep := s.Open[:0]
	for _, e := range s.Open {
		if s.closed(e.Window) {
			out = append(out, e)
		} else {
			keep = append(keep, e)
		}
	}
	s.Open = keep
	return out
}
