package erp

import (
	"encoding/json"
	"strings"

	"github.com/robfig/cron/v3"

	"github.com/greenlang/greenlang/internal/store"
)

// ConnectionSpec is a connection as users write it (`greenlang erp
// connection add --file`, POST /api/v1/erp/connections): the connectors'
// sample configurations have this shape.
type ConnectionSpec struct {
	Name        string            `json:"name"`
	System      string            `json:"system"`
	BaseURL     string            `json:"base_url"`
	AuthType    string            `json:"auth_type"`
	Credentials map[string]string `json:"credentials"`
	Settings    json.RawMessage   `json:"settings,omitempty"`
	Schedule    string            `json:"schedule,omitempty"`
	Active      *bool             `json:"active,omitempty"` // default true
}

// Check refuses a connection that could not run, naming the field: an
// unknown system, a schedule that does not parse, settings or credentials
// the connector refuses (it is built, nothing is contacted).
func (r *Registry) Check(c ConnectionSpec) error {
	if strings.TrimSpace(c.Name) == "" {
		return &FieldError{Field: "name", Reason: "is required"}
	}
	if strings.ContainsAny(c.Name, "/?#%\\") || strings.TrimSpace(c.Name) != c.Name || len(c.Name) > 100 {
		return &FieldError{Field: "name", Value: c.Name, Reason: "must be at most 100 characters without / ? # % \\ or surrounding spaces (it is part of URLs)"}
	}
	f, err := r.Get(c.System)
	if err != nil {
		return &FieldError{Field: "system", Value: c.System, Reason: "is not a connector: known are " + strings.Join(r.Systems(), ", ")}
	}
	if c.Schedule != "" {
		if _, err := cron.ParseStandard(c.Schedule); err != nil {
			return &FieldError{Field: "schedule", Value: c.Schedule, Reason: err.Error()}
		}
	}
	if _, err := f.New(Config{Name: c.Name, BaseURL: c.BaseURL, AuthType: c.AuthType, Credentials: c.Credentials, Settings: c.Settings}); err != nil {
		// Connectors name what they refuse in words; the field is the
		// part of the connection those words are about.
		field, msg := "settings", err.Error()
		switch {
		case strings.Contains(msg, "credential"):
			field = "credentials"
		case strings.Contains(msg, "auth type"):
			field = "auth_type"
		case strings.Contains(msg, "base URL") || strings.Contains(msg, "base_url"):
			field = "base_url"
		}
		return &FieldError{Field: field, Reason: msg}
	}
	return nil
}

// Spec returns a stored connection as a spec (credentials included).
func Spec(c *store.ERPConnection) ConnectionSpec {
	active := c.Active
	var settings json.RawMessage
	if len(c.Settings) > 0 {
		settings = json.RawMessage(c.Settings)
	}
	return ConnectionSpec{Name: c.Name, System: c.System, BaseURL: c.BaseURL, AuthType: c.AuthType,
		Credentials: c.Credentials, Settings: settings, Schedule: c.Schedule, Active: &active}
}

// Apply copies s onto c (a new or stored connection).
func (s ConnectionSpec) Apply(c *store.ERPConnection) {
	c.Name, c.System, c.BaseURL, c.AuthType, c.Schedule = s.Name, s.System, s.BaseURL, s.AuthType, s.Schedule
	c.Credentials = s.Credentials
	c.Settings = store.JSON(s.Settings)
	c.Active = s.Active == nil || *s.Active
}

// ConnectionPatch changes a connection (`greenlang erp connection set`,
// PATCH /api/v1/erp/connections/{name}): nil fields stay as they are;
// credentials are merged (an empty value removes its key); settings
// replace the old ones.
type ConnectionPatch struct {
	BaseURL     *string           `json:"base_url"`
	AuthType    *string           `json:"auth_type"`
	Credentials map[string]string `json:"credentials"`
	Settings    json.RawMessage   `json:"settings"`
	Schedule    *string           `json:"schedule"`
	Active      *bool             `json:"active"`
}

// Apply changes s by p.
func (p ConnectionPatch) Apply(s *ConnectionSpec) {
	for dst, v := range map[*string]*string{&s.BaseURL: p.BaseURL, &s.AuthType: p.AuthType, &s.Schedule: p.Schedule} {
		if v != nil {
			*dst = *v
		}
	}
	if p.Active != nil {
		s.Active = p.Active
	}
	if p.Settings != nil {
		s.Settings = p.Settings
	}
	if len(p.Credentials) > 0 {
		s.Credentials = store.MergeCredentials(s.Credentials, p.Credentials)
	}
}
