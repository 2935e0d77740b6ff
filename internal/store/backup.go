package store

import "github.com/greenlang/greenlang/internal/store/driver"

// Dumper returns the engine's capability to copy the whole database out and
// into a new one (internal/backup), or an error with CodeFailedPrecondition
// when the engine has none.
func (s *Store) Dumper() (driver.Dumper, error) {
	d, ok := s.d.(driver.Dumper)
	if !ok {
		return nil, errorf(CodeFailedPrecondition, "store: backup", "the %s engine cannot copy its database", s.d.Name())
	}
	return d, nil
}
